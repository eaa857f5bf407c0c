"""Neural style transfer, texture synthesis and Deep Dream, offline by default.

features (loss networks: random multi-scale default, VGG16/19 from a weights file), losses (content, Gram style,
total variation), gatys (image optimization, coarse to fine), transfer / texture (the commands), network (Johnson's
fast style network), train / apply (its training job and its use), dream, bench, cli (`gamelab style`).
"""
