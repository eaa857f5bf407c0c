"""The pygame viewer: play against an agent, watch agents play, review recorded games.

Modules, one concern each:
    controller  `Viewer`: seats and players, the game session, commands, background thinking, recording
    actions     the one table of actions that drives the keys, the help overlay and the buttons
    events      pygame events -> actions, clicks on the board, buttons and move list
    drawing     board overlays (legal moves, hints, result, coordinates), the side panel, the help overlay
    board       what the viewer shows about a position: winning line, score, move names
    chessboard  chess (any board size): picking and dragging pieces, targets, promotion, flip, the board's drawing
    session     `GameSession`: a game's history with a cursor (no pygame)
    thinking    `Thinker`: a player searching in a background thread
    recording   games appended to replays/<game>-<date>.jsonl; recorded games loaded back as sessions
    widgets     small pygame widgets: text, buttons, bars, banners
    menu        the start screen
    play        `gamelab play` (python -m arena.viewer.play)
    replay      `gamelab replay` (python -m arena.viewer.replay)
"""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
