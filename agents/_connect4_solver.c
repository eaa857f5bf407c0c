/* Exact Connect Four solver (7 columns x 6 rows), a CPython extension module.
 *
 * The method of Pascal Pons' tutorial "Solving Connect 4" (blog.gamesolver.org), written anew here: bitboards,
 * negamax with alpha-beta, a transposition table of bounds, moves ordered by the number of threats they create
 * (centre first among equals), pruning of moves that lose at once, and an iterative null-window search on the score.
 *
 * Score convention (Pons): for the player to move with n stones on the board, a win with one's own k-th stone scores
 * 22 - k, a loss to the opponent's k-th stone scores k - 22, a draw 0. A win at once scores (43 - n) / 2.
 *
 * Bitboards: bit col * 7 + row (row 0 at the bottom; the 7th bit of each column is a sentinel that stays 0).
 * A position is (current: the stones of the player to move, mask: all stones, moves: stones on the board).
 *
 * The transposition table is shared by every call (its entries are bounds of exact scores, valid from any root),
 * guarded by a lock; calls release the GIL while they search.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 7
#define HEIGHT 6
#define CELLS (WIDTH * HEIGHT)
#define MIN_SCORE (-(CELLS) / 2 + 3)
#define MAX_SCORE ((CELLS + 1) / 2 - 3)
#define TABLE_SIZE 8388617u /* a prime near 2^23: (key mod size, key mod 2^32) identifies a 49-bit key */

typedef uint64_t u64;

static const u64 BOTTOM = 0x0040810204081ULL;           /* the lowest cell of every column */
static const u64 BOARD = 0x0040810204081ULL * 0x3fULL; /* every playable cell */

static uint32_t *tt_keys;
static uint8_t *tt_vals;
static PyThread_type_lock tt_lock;
static unsigned long long node_count;
static unsigned long long node_limit; /* 0: none; else the search gives up past this many nodes of one call */
static unsigned long long call_start; /* node_count when the current call began */
static int aborted;

static inline u64 column_mask(int col) { return ((1ULL << HEIGHT) - 1) << (col * (HEIGHT + 1)); }
static inline u64 top_mask(int col) { return (1ULL << (HEIGHT - 1)) << (col * (HEIGHT + 1)); }
static inline u64 bottom_mask(int col) { return 1ULL << (col * (HEIGHT + 1)); }

static inline int popcount(u64 m) { return __builtin_popcountll(m); }

/* empty cells where `pos` would complete four in a row */
static u64 winning_cells(u64 pos, u64 mask) {
    u64 r = (pos << 1) & (pos << 2) & (pos << 3); /* vertical */
    u64 p;
    /* horizontal */
    p = (pos << (HEIGHT + 1)) & (pos << 2 * (HEIGHT + 1));
    r |= p & (pos << 3 * (HEIGHT + 1));
    r |= p & (pos >> (HEIGHT + 1));
    p = (pos >> (HEIGHT + 1)) & (pos >> 2 * (HEIGHT + 1));
    r |= p & (pos << (HEIGHT + 1));
    r |= p & (pos >> 3 * (HEIGHT + 1));
    /* diagonal 1 */
    p = (pos << HEIGHT) & (pos << 2 * HEIGHT);
    r |= p & (pos << 3 * HEIGHT);
    r |= p & (pos >> HEIGHT);
    p = (pos >> HEIGHT) & (pos >> 2 * HEIGHT);
    r |= p & (pos << HEIGHT);
    r |= p & (pos >> 3 * HEIGHT);
    /* diagonal 2 */
    p = (pos << (HEIGHT + 2)) & (pos << 2 * (HEIGHT + 2));
    r |= p & (pos << 3 * (HEIGHT + 2));
    r |= p & (pos >> (HEIGHT + 2));
    p = (pos >> (HEIGHT + 2)) & (pos >> 2 * (HEIGHT + 2));
    r |= p & (pos << (HEIGHT + 2));
    r |= p & (pos >> 3 * (HEIGHT + 2));
    return r & (BOARD ^ mask);
}

/* whether `pos` holds four in a row */
static int has_four(u64 pos) {
    static const int shifts[4] = {1, HEIGHT, HEIGHT + 1, HEIGHT + 2};
    for (int i = 0; i < 4; i++) {
        u64 m = pos & (pos >> shifts[i]);
        if (m & (m >> 2 * shifts[i])) return 1;
    }
    return 0;
}

static inline u64 possible(u64 mask) { return (mask + BOTTOM) & BOARD; }

static inline int can_win_next(u64 cur, u64 mask) { return (winning_cells(cur, mask) & possible(mask)) != 0; }

/* playable moves (as bits) that do not let the opponent win at once; 0 when every move loses */
static u64 non_losing_moves(u64 cur, u64 mask) {
    u64 moves = possible(mask);
    u64 opp_win = winning_cells(cur ^ mask, mask);
    u64 forced = moves & opp_win;
    if (forced) {
        if (forced & (forced - 1)) return 0; /* two threats: cannot block both */
        moves = forced;
    }
    return moves & ~(opp_win >> 1); /* never play under an opponent's winning cell */
}

static inline uint32_t tt_index(u64 key) { return (uint32_t)(key % TABLE_SIZE); }

static inline int tt_get(u64 key) {
    uint32_t i = tt_index(key);
    return tt_keys[i] == (uint32_t)key ? tt_vals[i] : 0;
}

static inline void tt_put(u64 key, int val) {
    uint32_t i = tt_index(key);
    tt_keys[i] = (uint32_t)key;
    tt_vals[i] = (uint8_t)val;
}

static const int ORDER[WIDTH] = {3, 2, 4, 1, 5, 0, 6};

/* negamax score of a position within (alpha, beta); the player to move cannot win at once */
static int negamax(u64 cur, u64 mask, int moves, int alpha, int beta) {
    node_count++;
    if (node_limit && node_count - call_start > node_limit) aborted = 1;
    if (aborted) return 0; /* unwinds without storing anything */
    u64 next = non_losing_moves(cur, mask);
    if (!next) return -(CELLS - moves) / 2;
    if (moves >= CELLS - 2) return 0; /* the last two stones cannot win: a draw */
    int lo = -(CELLS - 2 - moves) / 2;
    if (alpha < lo) {
        alpha = lo;
        if (alpha >= beta) return alpha;
    }
    int hi = (CELLS - 1 - moves) / 2;
    u64 key = cur + mask;
    int val = tt_get(key);
    if (val) {
        if (val > MAX_SCORE - MIN_SCORE + 1) { /* a lower bound */
            lo = val + 2 * MIN_SCORE - MAX_SCORE - 2;
            if (alpha < lo) {
                alpha = lo;
                if (alpha >= beta) return alpha;
            }
        } else { /* an upper bound */
            hi = val + MIN_SCORE - 1;
        }
    }
    if (beta > hi) {
        beta = hi;
        if (alpha >= beta) return beta;
    }
    /* order the moves by the threats they create, centre first among equals */
    u64 list[WIDTH];
    int score[WIDTH], n = 0;
    for (int i = WIDTH - 1; i >= 0; i--) {
        u64 m = next & column_mask(ORDER[i]);
        if (!m) continue;
        int s = popcount(winning_cells(cur | m, mask));
        int k = n++;
        for (; k && score[k - 1] > s; k--) {
            list[k] = list[k - 1];
            score[k] = score[k - 1];
        }
        list[k] = m;
        score[k] = s;
    }
    while (n) {
        u64 m = list[--n];
        /* play m: the opponent becomes the player to move */
        int s = -negamax(cur ^ mask, mask | m, moves + 1, -beta, -alpha);
        if (aborted) return 0;
        if (s >= beta) {
            tt_put(key, s + MAX_SCORE - 2 * MIN_SCORE + 2);
            return s;
        }
        if (s > alpha) alpha = s;
    }
    tt_put(key, alpha - MIN_SCORE + 1);
    return alpha;
}

/* exact score of a position that is not over */
static int solve(u64 cur, u64 mask, int moves) {
    if (can_win_next(cur, mask)) return (CELLS + 1 - moves) / 2;
    int lo = -(CELLS - moves) / 2, hi = (CELLS + 1 - moves) / 2;
    while (lo < hi) { /* null-window searches narrow [lo, hi] to the score, probing near 0 first */
        int med = lo + (hi - lo) / 2;
        if (med <= 0 && lo / 2 < med)
            med = lo / 2;
        else if (med >= 0 && hi / 2 > med)
            med = hi / 2;
        int r = negamax(cur, mask, moves, med, med + 1);
        if (aborted) return 0;
        if (r <= med)
            hi = r;
        else
            lo = r;
    }
    return lo;
}

/* ---------------------------------------------------------------------------------------------------- Python */
static int ensure_table(void) {
    if (tt_keys) return 0;
    tt_keys = calloc(TABLE_SIZE, sizeof(uint32_t));
    tt_vals = calloc(TABLE_SIZE, sizeof(uint8_t));
    if (!tt_keys || !tt_vals) {
        free(tt_keys);
        free(tt_vals);
        tt_keys = NULL;
        tt_vals = NULL;
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* checks a position given as (current, mask, moves); sets a ValueError and returns -1 when malformed */
static int check_position(u64 cur, u64 mask, int moves) {
    if (moves < 0 || moves > CELLS || (mask & ~BOARD) || (cur & ~mask) || popcount(mask) != moves ||
        popcount(cur) != moves / 2) {
        PyErr_Format(PyExc_ValueError, "not a connect four position: current=%llu mask=%llu moves=%d",
                     (unsigned long long)cur, (unsigned long long)mask, moves);
        return -1;
    }
    for (int c = 0; c < WIDTH; c++) { /* stones stacked from the bottom, no gaps */
        u64 col = mask & column_mask(c);
        if ((col + bottom_mask(c)) & col) {
            PyErr_Format(PyExc_ValueError, "not a connect four position: a gap in column %d", c);
            return -1;
        }
    }
    if (has_four(cur ^ mask) || has_four(cur)) {
        PyErr_SetString(PyExc_ValueError, "the game is over: four in a row on the board");
        return -1;
    }
    return 0;
}

/* a node budget for one call (0: none) */
static void start_call(unsigned long long max_nodes) {
    aborted = 0;
    node_limit = max_nodes;
    call_start = node_count;
}

static int end_call(void) {
    int gave_up = aborted;
    node_limit = 0;
    aborted = 0;
    return gave_up;
}

static PyObject *py_solve(PyObject *self, PyObject *args) {
    unsigned long long cur, mask, max_nodes = 0;
    int moves, score, gave_up;
    if (!PyArg_ParseTuple(args, "KKi|K", &cur, &mask, &moves, &max_nodes)) return NULL;
    if (check_position(cur, mask, moves) < 0 || ensure_table() < 0) return NULL;
    if (moves == CELLS) return PyLong_FromLong(0);
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(tt_lock, WAIT_LOCK);
    start_call(max_nodes);
    score = solve(cur, mask, moves);
    gave_up = end_call();
    PyThread_release_lock(tt_lock);
    Py_END_ALLOW_THREADS
    if (gave_up) return PyErr_Format(PyExc_TimeoutError, "gave up after %llu nodes", max_nodes);
    return PyLong_FromLong(score);
}

/* score of every column for the player to move (None: full column), as the `.scores` files give them */
static PyObject *py_analyze(PyObject *self, PyObject *args) {
    unsigned long long cur, mask, max_nodes = 0;
    int moves, scores[WIDTH], full[WIDTH], gave_up;
    if (!PyArg_ParseTuple(args, "KKi|K", &cur, &mask, &moves, &max_nodes)) return NULL;
    if (check_position(cur, mask, moves) < 0 || ensure_table() < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(tt_lock, WAIT_LOCK);
    start_call(max_nodes);
    u64 wins = winning_cells(cur, mask);
    for (int c = 0; c < WIDTH; c++) {
        full[c] = (mask & top_mask(c)) != 0;
        if (full[c]) continue;
        u64 m = (mask + bottom_mask(c)) & column_mask(c);
        if (m & wins)
            scores[c] = (CELLS + 1 - moves) / 2;
        else if (moves + 1 == CELLS)
            scores[c] = 0;
        else
            scores[c] = -solve(cur ^ mask, mask | m, moves + 1);
    }
    gave_up = end_call();
    PyThread_release_lock(tt_lock);
    Py_END_ALLOW_THREADS
    if (gave_up) return PyErr_Format(PyExc_TimeoutError, "gave up after %llu nodes", max_nodes);
    PyObject *out = PyList_New(WIDTH);
    if (!out) return NULL;
    for (int c = 0; c < WIDTH; c++) {
        PyObject *v = full[c] ? Py_NewRef(Py_None) : PyLong_FromLong(scores[c]);
        if (!v) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, c, v);
    }
    return out;
}

static PyObject *py_reset(PyObject *self, PyObject *noargs) {
    if (ensure_table() < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(tt_lock, WAIT_LOCK);
    memset(tt_keys, 0, TABLE_SIZE * sizeof(uint32_t));
    memset(tt_vals, 0, TABLE_SIZE * sizeof(uint8_t));
    node_count = 0;
    PyThread_release_lock(tt_lock);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_nodes(PyObject *self, PyObject *noargs) { return PyLong_FromUnsignedLongLong(node_count); }

static PyMethodDef methods[] = {
    {"solve", py_solve, METH_VARARGS, "solve(current, mask, moves[, max_nodes]) -> exact score of the position (Pons); TimeoutError past max_nodes"},
    {"analyze", py_analyze, METH_VARARGS, "analyze(current, mask, moves[, max_nodes]) -> score of each column, None if full; TimeoutError past max_nodes"},
    {"reset", py_reset, METH_NOARGS, "reset() -> clear the transposition table and the node counter"},
    {"nodes", py_nodes, METH_NOARGS, "nodes() -> positions searched since the last reset"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_connect4_solver",
                                    "Exact Connect Four solver (see agents/connect4_solver.py).", -1, methods};

PyMODINIT_FUNC PyInit__connect4_solver(void) {
    tt_lock = PyThread_allocate_lock();
    if (!tt_lock) return PyErr_NoMemory();
    return PyModule_Create(&module);
}
