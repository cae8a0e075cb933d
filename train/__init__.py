"""Image-depth contrastive pre-training (SPEC §5): open_clip towers, NT-Xent losses, DDP."""
