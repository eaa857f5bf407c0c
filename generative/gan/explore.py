"""`gamelab gan explore RUN`: a window on a GAN generator's latent space that regenerates as the controls move.

    gamelab gan explore RUN [--seed S] [--psi PSI] [--seed2 S] [--mix off|coarse|middle|fine] [--pc V1,V2,...]
                            [--pcs K] [--pca-samples N] [--class K] [--raw] [--out DIR] [--screenshot PATH]

StyleGAN runs (arch stylegan) get every control: the seed (its z, as `gamelab generate --seed S --n 1` draws it),
the truncation psi (w pulled toward the tracked mean `w_avg`), style mixing (a second seed's styles in the coarse,
middle or fine third of the style layers), and GANSpace-style sliders (Harkonen et al. 2020): at start the
explorer maps `--pca-samples` random z to w, takes the principal directions of those w, and each slider moves
every layer's w along one direction, in standard deviations of W along it. DCGAN-family runs get the seed (and the
class of a conditional run); their other controls do not exist and asking for them is an error.

Mouse: click or drag a slider, click a button. Keys: Left/Right seed -/+1, Up/Down psi +/-0.05, [ ] second seed,
M the mixing range, 1-9 pick a PCA slider and -/= move it, S save the image as PNG (the file name is printed),
R reset, Q or Esc quit. `--screenshot PATH` draws one frame of the window into a PNG without a display and exits.

Dimension letters: N samples, K PCA directions, L style layers, W style size, C/S image.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402
import torch  # noqa: E402

from core.checkpoint import CheckpointError
from core.job import JobParser, fail, ranged
from core.paths import check_output_dir, check_output_file
from core.window import EventWaiter, freeze_heap
from generative.images import save_image

from . import latent
from .models import load_generator

__all__ = ["Settings", "Slider", "Explorer", "layer_ranges", "w_pca", "surface_to_tensor", "main", "WINDOW",
           "MIX_RANGES", "SEED_SPAN"]  # fmt: skip

WINDOW = (960, 620)
SEED_SPAN = 1000  # the seed sliders cover seeds 0..999; the keys go further
PSI_RANGE = (0.0, 2.0)
PC_RANGE = 3.0  # the PCA sliders span -3..3 standard deviations
MIX_RANGES = ("off", "coarse", "middle", "fine")
_IMAGE_BOX = pygame.Rect(20, 20, 580, 580)
_PANEL_X, _PANEL_W = 630, 310
_COLORS = {"bg": (32, 36, 44), "text": (232, 234, 238), "muted": (150, 156, 170), "track": (70, 76, 92),
           "accent": (90, 160, 250), "button": (64, 72, 88), "on": (90, 160, 250)}  # fmt: skip


def layer_ranges(num_ws: int) -> dict[str, range]:
    """The style layers 0..L-1 in three nearly equal contiguous parts: coarse (low resolutions), middle, fine."""
    cuts = [round(num_ws * i / 3) for i in range(4)]
    return {name: range(cuts[i], cuts[i + 1]) for i, name in enumerate(MIX_RANGES[1:])}


def _layer_side(layer: int, num_ws: int) -> int:
    """The resolution a style layer drives: layer 0 the 4x4 conv, then two per resolution (the last: toRGB)."""
    levels = num_ws // 2 - 1
    return 4 * 2 ** min((layer + 1) // 2, levels)


@torch.no_grad()
def w_pca(g, n: int = 5000, k: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Principal directions of W (GANSpace): map n random z, centre, SVD.

    Returns:
        directions [K, W] (unit rows, largest variance first), sigma [K] (standard deviation of w along each),
        explained [K] (each direction's share of the total variance).
    """
    z = torch.randn(n, g.z_dim, generator=torch.Generator().manual_seed(seed))
    w = torch.cat([g.mapping(z[i : i + 1024]) for i in range(0, n, 1024)]).double()  # [N, W]
    _, s, vh = torch.linalg.svd(w - w.mean(0), full_matrices=False)
    k = min(k, vh.shape[0])
    var = s.square() / max(n - 1, 1)
    return vh[:k].float(), var[:k].sqrt().float(), (var[:k] / var.sum()).float()


@dataclass
class Settings:
    """Where the explorer stands: seed, truncation psi, second seed and mixing range, PCA offsets, class."""

    seed: int = 0
    psi: float = 1.0
    seed2: int = 1
    mix: str = "off"
    pcs: tuple[float, ...] = ()
    class_id: int = 0


@dataclass
class Slider:
    """A horizontal slider over [lo, hi] in steps of `step` (1 for seeds), drawn in `rect`; `key` names the
    setting it moves (a Settings field, or "pc<i>")."""

    key: str
    label: str
    lo: float
    hi: float
    step: float
    rect: pygame.Rect = field(default_factory=lambda: pygame.Rect(0, 0, 0, 0))

    def value_at(self, x: int) -> float:
        t = min(max((x - self.rect.left) / max(self.rect.width - 1, 1), 0.0), 1.0)
        v = self.lo + t * (self.hi - self.lo)
        v = round(v / self.step) * self.step
        return int(v) if self.step == 1 else round(v, 6)

    def x_of(self, value: float) -> int:
        t = min(max((value - self.lo) / (self.hi - self.lo), 0.0), 1.0)
        return self.rect.left + round(t * (self.rect.width - 1))

    def hit(self, pos: tuple[int, int]) -> bool:
        return self.rect.inflate(12, 16).collidepoint(pos)


class Explorer:
    """The explorer's state, drawing and input handling, without a window: `draw(surface)` paints one frame,
    `handle(event)` applies a pygame event (False: quit), `image()` is the generated image [C, S, S] in [0, 1].

    Args:
        g: a generator from `models.load_generator` (eval mode). pcs: PCA sliders (StyleGAN only).
        pca_samples: w's the PCA is computed from. out: the folder `save()` writes into.
    """

    def __init__(self, g, *, pcs: int = 4, pca_samples: int = 5000, settings: Settings | None = None,
                 out: str | Path = ".", title: str = ""):  # fmt: skip
        self.g, self.out, self.title = g, Path(out), title
        self.style = latent.is_style_generator(g)
        self.num_classes = getattr(g, "num_classes", 0)
        if self.style and pcs:
            self.directions, self.sigma, self.explained = w_pca(g, pca_samples, pcs)
        else:
            self.directions, self.sigma, self.explained = torch.zeros(0, 1), torch.zeros(0), torch.zeros(0)
        k = len(self.sigma)
        s = settings or Settings()
        self.settings = replace(s, pcs=tuple(s.pcs) + (0.0,) * (k - len(s.pcs)))
        self.initial = self.settings
        self.active_pc, self.drag, self.status = 0, None, ""
        self._cache: tuple[Settings, torch.Tensor] | None = None
        self._fonts: dict[int, pygame.font.Font] = {}
        self.sliders, self.buttons = self._layout()

    # --- the image
    def _z(self, seed: int) -> torch.Tensor:
        return torch.randn(self.g.z_dim, generator=torch.Generator().manual_seed(seed))[None]  # [1, Z]

    @torch.no_grad()
    def ws(self) -> torch.Tensor:
        """The per-layer styles [1, L, W] of the current settings (StyleGAN only)."""
        s, g = self.settings, self.g
        w = g.truncate(g.mapping(self._z(s.seed)), s.psi)  # [1, W]
        ws = w[:, None].repeat(1, g.num_ws, 1)
        if s.mix != "off":
            layers = layer_ranges(g.num_ws)[s.mix]
            ws[:, layers.start : layers.stop] = g.truncate(g.mapping(self._z(s.seed2)), s.psi)[:, None]
        if len(self.sigma):
            offset = (torch.tensor(s.pcs) * self.sigma) @ self.directions  # [W]
            ws = ws + offset
        return ws

    @torch.no_grad()
    def image(self) -> torch.Tensor:
        """The generated image [C, S, S] in [0, 1] for the current settings (cached until they change)."""
        if self._cache is None or self._cache[0] != self.settings:
            if self.style:
                out = self.g.synthesis(self.ws())
            else:
                y = torch.tensor([self.settings.class_id]) if self.num_classes else None
                out = self.g(self._z(self.settings.seed), y)
            self._cache = (self.settings, latent.to_unit(out)[0])
        return self._cache[1]

    def describe(self) -> str:
        """The settings in a few words (also the saved file's name, without the suffix)."""
        s = self.settings
        parts = [f"seed{s.seed}"]
        if self.num_classes:
            parts.append(f"class{s.class_id}")
        if self.style:
            parts.append(f"psi{s.psi:.2f}")
            if s.mix != "off":
                parts.append(f"{s.mix}-from-seed{s.seed2}")
            parts += [f"pc{i + 1}{v:+.2f}" for i, v in enumerate(s.pcs) if v]
        return "_".join(parts)

    def save(self) -> Path:
        """Write the generated image (its own resolution) as OUT/<settings>.png; returns the path."""
        path = save_image(self.image(), self.out / f"{self.describe()}.png")
        self.status = f"saved {path.name}"
        return path

    # --- layout and drawing
    def _layout(self) -> tuple[list[Slider], dict[str, pygame.Rect]]:
        x, y, w = _PANEL_X, 64, _PANEL_W
        sliders = [Slider("seed", "seed", 0, SEED_SPAN - 1, 1)]
        if self.num_classes:
            sliders.append(Slider("class_id", "class", 0, self.num_classes - 1, 1))
        if self.style:
            sliders += [Slider("psi", "truncation psi", *PSI_RANGE, 0.01), Slider("seed2", "second seed", 0,
                        SEED_SPAN - 1, 1)]  # fmt: skip
        buttons: dict[str, pygame.Rect] = {}
        for slider in sliders:
            slider.rect = pygame.Rect(x, y + 22, w, 8)
            y += 50
        if self.style:
            bw = (w - 3 * 6) // 4
            for i, name in enumerate(MIX_RANGES):
                buttons[f"mix:{name}"] = pygame.Rect(x + i * (bw + 6), y + 20, bw, 26)
            y += 78
            for i in range(len(self.sigma)):
                label = f"PC{i + 1} ({100 * float(self.explained[i]):.0f}% of W's variance)"
                sliders.append(Slider(f"pc{i}", label, -PC_RANGE, PC_RANGE, 0.05, pygame.Rect(x, y + 22, w, 8)))
                y += 46
        bw = (w - 6) // 2
        buttons["save"] = pygame.Rect(x, y + 8, bw, 30)
        buttons["reset"] = pygame.Rect(x + bw + 6, y + 8, bw, 30)
        return sliders, buttons

    def _font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            if not pygame.font.get_init():
                pygame.font.init()
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def _text(self, surface: pygame.Surface, text: str, pos: tuple[int, int], size: int = 20,
              color: str = "text", anchor: str = "topleft") -> None:  # fmt: skip
        f = self._font(size)
        while f.size(text)[0] > _PANEL_W and len(text) > 4:  # cut what does not fit the panel
            text = text[:-4] + "..."
        image = f.render(text, True, _COLORS[color])
        surface.blit(image, image.get_rect(**{anchor: pos}))

    def value(self, key: str) -> float:
        if key.startswith("pc"):
            return self.settings.pcs[int(key[2:])]
        return getattr(self.settings, key)

    def image_rect(self) -> pygame.Rect:
        """Where the image is drawn: the largest whole multiple of its side that fits the image box, centred."""
        side = self.image().shape[-1]
        scale = max(_IMAGE_BOX.width // side, 1)
        rect = pygame.Rect(0, 0, side * scale, side * scale)
        rect.center = _IMAGE_BOX.center
        return rect

    def draw(self, surface: pygame.Surface) -> None:
        """Paint one frame: the image on the left, the controls on the right."""
        surface.fill(_COLORS["bg"])
        img = self.image()
        if img.shape[0] == 1:
            img = img.expand(3, -1, -1)
        pixels = (img * 255).round().to(torch.uint8).permute(2, 1, 0).numpy()  # [S(x), S(y), 3]
        rect = self.image_rect()
        surface.blit(pygame.transform.scale(pygame.surfarray.make_surface(pixels), rect.size), rect)
        x = _PANEL_X
        self._text(surface, self.title or "latent explorer", (x, 16), 24)
        self._text(surface, self.describe().replace("_", "  "), (x, 40), 18, "muted")
        for slider in self.sliders:
            v = self.value(slider.key)
            shown = f"{v:d}" if slider.step == 1 else f"{v:+.2f}" if slider.key.startswith("pc") else f"{v:.2f}"
            active = slider.key == f"pc{self.active_pc}"
            self._text(surface, slider.label, (x, slider.rect.top - 20), 19, "accent" if active else "text")
            self._text(surface, shown, (slider.rect.right, slider.rect.top - 20), 19, "text", "topright")
            pygame.draw.rect(surface, _COLORS["track"], slider.rect, border_radius=4)
            pygame.draw.circle(surface, _COLORS["accent"], (slider.x_of(v), slider.rect.centery), 9)
        if self.style:
            top = self.buttons["mix:off"].top
            lo = layer_ranges(self.g.num_ws).get(self.settings.mix)
            what = "style mixing: off"
            if lo is not None:
                sides = sorted({_layer_side(i, self.g.num_ws) for i in (lo.start, lo.stop - 1)})
                layers = f"{lo.start}-{lo.stop - 1}" if len(lo) > 1 else f"{lo.start}"
                what = f"mixing: layer{'s' * (len(lo) > 1)} {layers} ({'-'.join(map(str, sides))} px) from seed 2"
            self._text(surface, what, (x, top - 20), 19)
        for name, rect in self.buttons.items():
            on = name == f"mix:{self.settings.mix}"
            pygame.draw.rect(surface, _COLORS["on" if on else "button"], rect, border_radius=5)
            label = {"save": "save PNG (S)", "reset": "reset (R)"}.get(name, name.partition(":")[2])
            self._text(surface, label, rect.center, 19, anchor="center")
        help_y = WINDOW[1] - 58
        if not self.style:
            self._text(surface, "truncation, mixing and PCA need a StyleGAN run", (x, help_y - 22), 17, "muted")
        keys = "Left/Right seed  Up/Down psi  [ ] seed 2  M mix" if self.style else "Left/Right seed"
        self._text(surface, keys, (x, help_y), 17, "muted")
        more = "1-9 pick PC, -/= move it  S save  R reset  Q quit" if self.style else "S save  R reset  Q quit"
        self._text(surface, more, (x, help_y + 16), 17, "muted")
        self._text(surface, self.status, (x, help_y + 34), 17, "accent")

    # --- input
    def set(self, key: str, value: float) -> None:
        """Move one setting (a slider's key), clamped to what it allows."""
        s = self.settings
        if key.startswith("pc"):
            i, pcs = int(key[2:]), list(s.pcs)
            pcs[i] = round(min(max(value, -PC_RANGE), PC_RANGE), 6)
            self.settings, self.active_pc = replace(s, pcs=tuple(pcs)), i
        elif key == "psi":
            self.settings = replace(s, psi=round(min(max(value, PSI_RANGE[0]), PSI_RANGE[1]), 6))
        elif key == "class_id":
            self.settings = replace(s, class_id=int(min(max(value, 0), self.num_classes - 1)))
        else:
            self.settings = replace(s, **{key: int(min(max(value, 0), 2**31 - 1))})

    def handle(self, event: pygame.event.Event) -> bool:
        """Apply one event; returns False when the user quits."""
        if event.type == pygame.QUIT:
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            for slider in self.sliders:
                if slider.hit(event.pos):
                    self.drag = slider
                    self.set(slider.key, slider.value_at(event.pos[0]))
                    return True
            for name, rect in self.buttons.items():
                if rect.collidepoint(event.pos):
                    self._press(name)
        elif event.type == pygame.MOUSEMOTION and self.drag is not None:
            self.set(self.drag.key, self.drag.value_at(event.pos[0]))
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self.drag = None
        elif event.type == pygame.KEYDOWN:
            return self._key(event)
        return True

    def _press(self, name: str) -> None:
        if name.startswith("mix:"):
            self.settings = replace(self.settings, mix=name[4:])
        elif name == "save":
            print(f"wrote {self.save()}", flush=True)
        elif name == "reset":
            self.settings, self.status = self.initial, ""

    def _key(self, event: pygame.event.Event) -> bool:
        key, s, style = event.key, self.settings, self.style
        steps = {pygame.K_LEFT: ("seed", -1), pygame.K_RIGHT: ("seed", 1)}
        if style:
            steps |= {pygame.K_UP: ("psi", 0.05), pygame.K_DOWN: ("psi", -0.05), pygame.K_LEFTBRACKET: ("seed2", -1),
                      pygame.K_RIGHTBRACKET: ("seed2", 1)}  # fmt: skip
            if len(s.pcs):
                pc = f"pc{self.active_pc}"
                steps |= {pygame.K_MINUS: (pc, -0.25), pygame.K_EQUALS: (pc, 0.25), pygame.K_PLUS: (pc, 0.25)}
        if key in (pygame.K_ESCAPE, pygame.K_q):
            return False
        if key in steps:
            name, delta = steps[key]
            self.set(name, round(self.value(name) + delta, 6))
        elif key == pygame.K_m and style:
            self.settings = replace(s, mix=MIX_RANGES[(MIX_RANGES.index(s.mix) + 1) % len(MIX_RANGES)])
        elif pygame.K_1 <= key <= pygame.K_9 and key - pygame.K_1 < len(s.pcs):
            self.active_pc = key - pygame.K_1
        elif key == pygame.K_s:
            self._press("save")
        elif key == pygame.K_r:
            self._press("reset")
        return True


def surface_to_tensor(surface: pygame.Surface) -> torch.Tensor:
    """A pygame surface as an image tensor [3, H, W] in [0, 1]."""
    return torch.from_numpy(pygame.surfarray.array3d(surface)).permute(2, 1, 0).float() / 255


def _pc_values(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) and abs(v) <= PC_RANGE for v in values):
        raise argparse.ArgumentTypeError(f"each value must be within -{PC_RANGE:g}..{PC_RANGE:g}, got {text!r}")
    return values


_KEYS = (
    "Mouse: click or drag a slider, click a button. Keys: Left/Right seed -/+1, Up/Down psi +/-0.05, [ ] second "
    "seed, M the mixing range, 1-9 pick a PCA slider and -/= move it, S save the image as PNG, R reset, Q quit."
)


def _parser() -> JobParser:
    p = JobParser(prog="gamelab gan explore", description="A window on a GAN run's latent space: seeds, "
                  "truncation, style mixing and PCA directions of W, regenerated live.", epilog=_KEYS)  # fmt: skip
    p.add_argument("run", help="run directory (latest checkpoint) or checkpoint file")
    p.add_argument("--seed", type=ranged(int, ge=0, lt=2**31), default=0, help="first seed (default 0)")
    p.add_argument("--psi", type=ranged(float, ge=PSI_RANGE[0], le=PSI_RANGE[1]), default=1.0,
                   help="truncation psi in [0, 2] (StyleGAN; default 1: none)")  # fmt: skip
    p.add_argument("--seed2", type=ranged(int, ge=0, lt=2**31), default=None, help="second seed (style mixing)")
    p.add_argument("--mix", choices=MIX_RANGES, default="off", help="layers the second seed gives (default off)")
    p.add_argument("--pc", type=_pc_values, default=(), metavar="V1,V2,...",
                   help="start the PCA sliders here, in standard deviations (-3..3)")  # fmt: skip
    p.add_argument("--pcs", type=ranged(int, ge=0, le=9), default=4, help="PCA sliders (0-9, default 4)")
    p.add_argument("--pca-samples", type=ranged(int, ge=100, le=10**6), default=5000,
                   help="random w's the PCA of W is computed from (default 5000)")  # fmt: skip
    p.add_argument("--class", dest="class_id", type=ranged(int, ge=0), default=None, help="class (conditional runs)")
    p.add_argument("--raw", action="store_true", help="the raw generator instead of the EMA one")
    p.add_argument("--out", metavar="DIR", help="where S saves (default RUN/explore, or . for a checkpoint file)")
    p.add_argument("--screenshot", metavar="PATH", help="draw one frame into a PNG (no display needed) and exit")
    return p


def _settings(args: argparse.Namespace, g, info: dict) -> Settings:
    style = latent.is_style_generator(g)
    if not style:
        asked = [name for name, on in (("--psi", args.psi != 1), ("--seed2", args.seed2 is not None),
                 ("--mix", args.mix != "off"), ("--pc", bool(args.pc))) if on]  # fmt: skip
        if asked:
            arch = info.get("model_config", {}).get("arch", "this")
            raise ValueError(f"{', '.join(asked)} need a StyleGAN run (arch stylegan); {info['path']} is {arch}")
    elif len(args.pc) > args.pcs:
        raise ValueError(f"--pc gives {len(args.pc)} values but there are {args.pcs} PCA sliders (--pcs)")
    k = getattr(g, "num_classes", 0)
    if args.class_id is not None and not k:
        raise ValueError("--class needs a class-conditional run")
    if args.class_id is not None and args.class_id >= k:
        raise ValueError(f"--class must be in 0..{k - 1}, got {args.class_id}")
    seed2 = args.seed + 1 if args.seed2 is None else args.seed2
    return Settings(args.seed, args.psi, seed2, args.mix, tuple(args.pc), args.class_id or 0)


def main(argv: list[str] | None = None) -> int:
    """Open the explorer window (or write `--screenshot`). Returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.screenshot:
            if Path(args.screenshot).suffix.lower() != ".png":
                raise ValueError(f"{args.screenshot}: the screenshot is a PNG file (end it in .png)")
            check_output_file(args.screenshot)
        run = Path(args.run)
        out = Path(args.out) if args.out else (run / "explore" if run.is_dir() else Path("."))
        if args.out:
            check_output_dir(out)
        g, info = load_generator(args.run, ema=not args.raw)
        settings = _settings(args, g, info)
        title = f"step {info['step']}: {run.resolve().name}"
        explorer = Explorer(g, pcs=args.pcs, pca_samples=args.pca_samples, settings=settings, out=out, title=title)
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        return fail(err)
    if args.screenshot:
        pygame.font.init()
        frame = pygame.Surface(WINDOW)
        explorer.draw(frame)
        print(f"wrote {save_image(surface_to_tensor(frame), args.screenshot)}")
        return 0
    return _window(explorer)


def _window(explorer: Explorer) -> int:
    """The interactive loop: draw when something changed, then sleep until the next event (core.window: pygame's
    own `event.wait` would poll every millisecond); the mouse moving with no slider held changes nothing."""
    try:
        pygame.display.init()
        screen = pygame.display.set_mode(WINDOW)
    except pygame.error as err:
        return fail(f"cannot open a window ({err}); --screenshot PATH draws a frame without one")
    pygame.font.init()
    pygame.display.set_caption(f"gamelab gan explore: {explorer.title}")
    waiter = EventWaiter()
    freeze_heap()
    try:
        running, changed = True, True
        while running:
            if changed:
                explorer.draw(screen)
                pygame.display.flip()
            events, _ = waiter.wait()
            changed = any(e.type != pygame.MOUSEMOTION for e in events) or explorer.drag is not None
            running = all([explorer.handle(e) for e in events])
    finally:
        pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
