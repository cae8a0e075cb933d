#version 330 core
// clip2point RGB views: PyTorch3D's HardPhongShader as the reference used it (ambient from the
// scene, diffuse from the light colour x intensity, white specular of strength 0.2 and
// shininess 64, no gamma). Replaces pyrender's PBR shader, which is dearer per fragment.
// Back faces keep their normal, as PyTorch3D does (ambient only when facing away from the
// light); with TWO_SIDED (the 'improved' shading) the normal is flipped on back faces so both
// sides of single-sided meshes are lit.
// A textured primitive that also has TEXCOORD_1 is a per-face atlas (render/rgb_atlas.py):
// uv_0 holds the barycentric coordinates (w0, w1) and uv_1 the face's tile origin in texels;
// the texel is the cell of the 4x4 sub-triangle grid the fragment falls in, picked exactly
// as PyTorch3D's TexturesAtlas.sample_textures does (nearest cell, no filtering).

struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};

struct Material {
    vec4 base_color_factor;
#ifdef HAS_BASE_COLOR_TEX
    sampler2D base_color_texture;
#endif
};

uniform Material material;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
in vec3 frag_normal;  // the scene builder always supplies vertex normals
#ifdef TEXCOORD_0_LOC
in vec2 uv_0;
#endif
#ifdef TEXCOORD_1_LOC
in vec2 uv_1;
#endif
#ifdef COLOR_0_LOC
in vec4 color_multiplier;
#endif

out vec4 frag_color;

const float SPECULAR = 0.2;
const float SHININESS = 64.0;
const int ATLAS_CELLS = 4;

// pyrender rewrites each "#ifdef NAME" itself from its defines: nest them, never "defined()".
#ifdef HAS_BASE_COLOR_TEX
#ifdef TEXCOORD_1_LOC
vec4 atlas_texel()
{
    vec2 w = uv_0;
    ivec2 cell = min(ivec2(w * float(ATLAS_CELLS)), ivec2(ATLAS_CELLS - 1));
    if ((w.x + w.y) * float(ATLAS_CELLS) - float(cell.x + cell.y) > 1.0) {
        cell = ivec2(ATLAS_CELLS - 1) - cell;
    }
    return texelFetch(material.base_color_texture, ivec2(floor(uv_1 + 0.5)) + cell, 0);
}
#endif
#endif

void main()
{
    vec4 albedo = material.base_color_factor;
#ifdef HAS_BASE_COLOR_TEX
#ifdef TEXCOORD_1_LOC
    albedo *= atlas_texel();
#else
    albedo *= texture(material.base_color_texture, uv_0);
#endif
#endif
#ifdef COLOR_0_LOC
    albedo *= color_multiplier;
#endif

    vec3 n = normalize(frag_normal);
#ifdef TWO_SIDED
    if (!gl_FrontFacing) {
        n = -n;
    }
#endif
    vec3 v = normalize(cam_pos - frag_position);

    vec3 color = albedo.rgb * ambient_light;
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = normalize(-directional_lights[i].direction);
        vec3 radiance = directional_lights[i].color * directional_lights[i].intensity;
        float nl = max(dot(n, l), 0.0);
        vec3 r = reflect(-l, n);
        float spec = nl > 0.0 ? pow(max(dot(r, v), 0.0), SHININESS) : 0.0;
        color += albedo.rgb * radiance * nl + SPECULAR * spec * vec3(1.0);
    }
    frag_color = vec4(clamp(color, 0.0, 1.0), 1.0);
}
