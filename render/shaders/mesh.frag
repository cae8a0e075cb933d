#version 330 core
// clip2point RGB views: two-sided Phong shading with directional lights, in the spirit of
// PyTorch3D's Phong shader that the reference used (ambient from the scene, diffuse from the
// light colour x intensity, white specular of strength 0.2 and shininess 64, no gamma).
// Replaces pyrender's PBR shader: cheaper per fragment, and it lights the back side of
// single-sided meshes (the normal is flipped on back faces) instead of leaving them black.

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
#ifdef COLOR_0_LOC
in vec4 color_multiplier;
#endif

out vec4 frag_color;

const float SPECULAR = 0.2;
const float SHININESS = 64.0;

void main()
{
    vec4 albedo = material.base_color_factor;
#ifdef HAS_BASE_COLOR_TEX
    albedo *= texture(material.base_color_texture, uv_0);
#endif
#ifdef COLOR_0_LOC
    albedo *= color_multiplier;
#endif

    vec3 n = normalize(frag_normal);
    if (!gl_FrontFacing) {
        n = -n;
    }
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
