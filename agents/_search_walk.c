/* The leaf batch's tree walks of agents.mcts for a few games on the CPU, a CPython extension module.
 *
 * The same arithmetic as agents/host_tree.py (the numpy walks, the fallback where this module is not built), node for
 * node and in float32: PUCT with first-play urgency and virtual losses, KataGo's forced playouts at the root, node
 * reservation with virtual losses along the path, and backups with a sign flip wherever the player to move changes.
 * The tests compare both walks visit for visit.
 *
 * A Walker holds writable views (the buffer protocol: numpy views of the tree's tensors) of one tree's arrays:
 *   visits, value_sum, raw_value, virtual: float32 [B, N]; prior: float32 [B, N, A]; legal: bool [B, N, A];
 *   children: int32 [B, N, A]; parent, depth: int64 [B, N]; terminal: bool [B, N]; num_nodes: int64 [B];
 *   player: int64 [B, N] (the player to move at each node).
 * Dimension letters: B games, N nodes, A actions, K leaves per tree per step.
 *
 * Built with -ffp-contract=off so that no multiply-add is fused: every float32 operation rounds as numpy's and
 * torch's do.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { VISITS, VALUE_SUM, RAW_VALUE, PRIOR, LEGAL, CHILDREN, PARENT, DEPTH, TERMINAL, VIRTUAL, NUM_NODES, PLAYER, NBUF };

static const char *buf_names[NBUF] = {"visits", "value_sum", "raw_value", "prior",    "legal",     "children",
                                      "parent", "depth",     "terminal",  "virtual", "num_nodes", "player"};
static const Py_ssize_t item_size[NBUF] = {4, 4, 4, 4, 1, 4, 8, 8, 1, 4, 8, 8};
/* elements per game: 1 = per game, 2 = per node, 3 = per node and action */
static const int per_kind[NBUF] = {2, 2, 2, 3, 3, 3, 2, 2, 2, 2, 1, 2};

typedef struct {
    PyObject_HEAD Py_buffer views[NBUF];
    int held;
    Py_ssize_t B, N, A;
    float *visits, *value_sum, *raw_value, *prior, *virt;
    uint8_t *legal, *terminal;
    int32_t *children;
    int64_t *parent, *depth, *num_nodes, *player;
} Walker;

static void walker_release(Walker *w) {
    for (int i = 0; i < w->held; i++) PyBuffer_Release(&w->views[i]);
    w->held = 0;
}

static void walker_dealloc(Walker *w) {
    walker_release(w);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static int walker_init(Walker *w, PyObject *args, PyObject *kwds) {
    if (kwds && PyDict_Size(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "Walker takes positional arguments only");
        return -1;
    }
    walker_release(w);
    if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) != NBUF) {
        PyErr_Format(PyExc_TypeError, "Walker takes %d arrays", NBUF);
        return -1;
    }
    for (int i = 0; i < NBUF; i++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(args, i), &w->views[i], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
            walker_release(w);
            return -1;
        }
        w->held = i + 1;
        if (w->views[i].itemsize != item_size[i]) {
            PyErr_Format(PyExc_TypeError, "Walker: %s has items of %zd bytes, expected %zd", buf_names[i],
                         w->views[i].itemsize, item_size[i]);
            walker_release(w);
            return -1;
        }
    }
    Py_ssize_t B = w->views[NUM_NODES].len / 8;
    Py_ssize_t N = B > 0 ? w->views[VISITS].len / 4 / B : 0;
    Py_ssize_t A = B > 0 && N > 0 ? w->views[PRIOR].len / 4 / B / N : 0;
    if (B <= 0 || N <= 0 || A <= 0) {
        PyErr_SetString(PyExc_ValueError, "Walker: empty tree");
        walker_release(w);
        return -1;
    }
    for (int i = 0; i < NBUF; i++) {
        Py_ssize_t want = B * (per_kind[i] == 1 ? 1 : per_kind[i] == 2 ? N : N * A) * item_size[i];
        if (w->views[i].len != want) {
            PyErr_Format(PyExc_ValueError, "Walker: %s has %zd bytes, expected %zd", buf_names[i], w->views[i].len,
                         want);
            walker_release(w);
            return -1;
        }
    }
    w->B = B, w->N = N, w->A = A;
    w->visits = w->views[VISITS].buf, w->value_sum = w->views[VALUE_SUM].buf;
    w->raw_value = w->views[RAW_VALUE].buf, w->prior = w->views[PRIOR].buf, w->virt = w->views[VIRTUAL].buf;
    w->legal = w->views[LEGAL].buf, w->terminal = w->views[TERMINAL].buf;
    w->children = w->views[CHILDREN].buf, w->parent = w->views[PARENT].buf, w->depth = w->views[DEPTH].buf;
    w->num_nodes = w->views[NUM_NODES].buf, w->player = w->views[PLAYER].buf;
    return 0;
}

/* Walk game b down from the root while the chosen child exists and is not terminal; (node, action) in out. */
static void select_one(Walker *w, Py_ssize_t b, const float *root_prior, const uint8_t *root_legal, float c_puct,
                       float fpu, int forced, float forced_k, int64_t *out_node, int64_t *out_action) {
    const Py_ssize_t N = w->N, A = w->A;
    const float *visits = w->visits + b * N, *value_sum = w->value_sum + b * N, *virt = w->virt + b * N;
    const int64_t *player = w->player + b * N;
    const uint8_t *terminal = w->terminal + b * N;
    int64_t node = 0;
    for (;;) {
        const int32_t *ch = w->children + (b * N + node) * A;
        const float *prior = node == 0 ? root_prior : w->prior + (b * N + node) * A;
        const uint8_t *legal = node == 0 ? root_legal : w->legal + (b * N + node) * A;
        float nv = visits[node];
        float node_visits = nv + virt[node];
        float node_value = value_sum[node] / (nv > 1.0f ? nv : 1.0f);
        float fpu_q = node_value - fpu;
        float sq = sqrtf(node_visits);
        float total = 0.0f;
        if (node == 0 && forced) {
            for (Py_ssize_t a = 0; a < A; a++)
                if (ch[a] >= 0) total += visits[ch[a]] + virt[ch[a]];
        }
        Py_ssize_t best = 0;
        float best_score = 0.0f;
        for (Py_ssize_t a = 0; a < A; a++) {
            float score;
            if (!legal[a]) {
                score = -INFINITY;
            } else {
                int32_t c = ch[a];
                float n = 0.0f, q;
                if (c >= 0) n = visits[c] + virt[c];
                if (n > 0.0f) {
                    float s = value_sum[c];
                    if (player[c] != player[node]) s = -s;
                    q = (s - virt[c]) / (n > 1.0f ? n : 1.0f);
                } else {
                    q = fpu_q;
                }
                float u = c_puct * prior[a] * sq / (1.0f + n);
                score = q + u;
                if (node == 0 && forced && n < sqrtf(forced_k * prior[a] * total)) score = score + 1e4f;
            }
            if (a == 0 || score > best_score) best = a, best_score = score;
        }
        int32_t child = ch[best];
        if (child < 0 || terminal[child]) {
            *out_node = node, *out_action = best;
            return;
        }
        node = child;
    }
}

/* Give game b's child (node, action) its node id if it is new (terminal until evaluated), add a virtual loss along
 * the path; returns the leaf, *is_new set. */
static int64_t reserve_one(Walker *w, Py_ssize_t b, int64_t node, int64_t action, int *is_new, int64_t *max_depth) {
    const Py_ssize_t N = w->N, A = w->A;
    int32_t *slot = w->children + (b * N + node) * A + action;
    int64_t child = *slot;
    *is_new = child < 0;
    if (*is_new) {
        child = w->num_nodes[b];
        if (child >= N) return -1;
        Py_ssize_t i = b * N + child;
        w->parent[i] = node;
        w->depth[i] = w->depth[b * N + node] + 1;
        w->visits[i] = 0.0f, w->value_sum[i] = 0.0f, w->virt[i] = 0.0f;
        w->terminal[i] = 1;
        *slot = (int32_t)child;
        w->num_nodes[b] = child + 1;
        if (w->depth[i] > *max_depth) *max_depth = w->depth[i];
    }
    for (int64_t cur = child; cur >= 0; cur = w->parent[b * N + cur]) w->virt[b * N + cur] += 1.0f;
    return child;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, Py_ssize_t len, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->itemsize != itemsize || view->len < len * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes", name, len, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(walk_doc,
             "walk(root_prior, root_legal, remaining, k, c_puct, fpu, forced_k, new, counted) -> (n_new, n_counted, "
             "max_depth)\n\n"
             "K rounds over the games: select and reserve a leaf of each game with remaining[b] > 0 (live games; "
             "decremented per counted simulation). root_prior float32 [B, A], root_legal bool [B, A], remaining "
             "int64 [B]; forced_k < 0: no forced playouts. Writes (game, node, action, leaf) of the new leaves into "
             "new int64 [K*B, 4] and (game, leaf) of the counted simulations into counted int64 [K*B, 2].");

static PyObject *walker_walk(Walker *w, PyObject *args) {
    PyObject *o_prior, *o_legal, *o_remaining, *o_new, *o_counted;
    Py_ssize_t k;
    float c_puct, fpu, forced_k;
    if (!PyArg_ParseTuple(args, "OOOnfffOO", &o_prior, &o_legal, &o_remaining, &k, &c_puct, &fpu, &forced_k, &o_new,
                          &o_counted))
        return NULL;
    const Py_ssize_t B = w->B, N = w->N, A = w->A;
    Py_buffer vp, vl, vr, vn, vc;
    int64_t *first_new = PyMem_Malloc(sizeof(int64_t) * B); /* nodes reserved in this step get ids from here on */
    if (!first_new) return PyErr_NoMemory();
    if (get_buffer(o_prior, &vp, 4, B * A, "root_prior") < 0) goto fail_m;
    if (get_buffer(o_legal, &vl, 1, B * A, "root_legal") < 0) goto fail_p;
    if (get_buffer(o_remaining, &vr, 8, B, "remaining") < 0) goto fail_l;
    if (get_buffer(o_new, &vn, 8, k * B * 4, "new") < 0) goto fail_r;
    if (get_buffer(o_counted, &vc, 8, k * B * 2, "counted") < 0) goto fail_n;
    const float *root_prior = vp.buf;
    const uint8_t *root_legal = vl.buf;
    int64_t *remaining = vr.buf, *out_new = vn.buf, *out_counted = vc.buf;
    for (Py_ssize_t b = 0; b < B; b++) first_new[b] = w->num_nodes[b];
    Py_ssize_t n_new = 0, n_counted = 0;
    int64_t max_depth = 0;
    int forced = forced_k >= 0.0f;
    for (Py_ssize_t j = 0; j < k; j++) {
        for (Py_ssize_t b = 0; b < B; b++) {
            if (remaining[b] <= 0) continue;
            int64_t node, action;
            int is_new;
            select_one(w, b, root_prior + b * A, root_legal + b * A, c_puct, fpu, forced, forced_k, &node, &action);
            int64_t leaf = reserve_one(w, b, node, action, &is_new, &max_depth);
            if (leaf < 0) {
                PyErr_Format(PyExc_RuntimeError, "walk: the tree of game %zd is full (%zd nodes)", b, N);
                goto fail;
            }
            if (is_new) {
                int64_t *row = out_new + 4 * n_new++;
                row[0] = b, row[1] = node, row[2] = action, row[3] = leaf;
            }
            if (is_new || leaf < first_new[b]) { /* not a collision with a leaf reserved in this step */
                remaining[b] -= 1;
                int64_t *row = out_counted + 2 * n_counted++;
                row[0] = b, row[1] = leaf;
            }
        }
    }
    PyBuffer_Release(&vc), PyBuffer_Release(&vn), PyBuffer_Release(&vr), PyBuffer_Release(&vl), PyBuffer_Release(&vp);
    PyMem_Free(first_new);
    return Py_BuildValue("nnL", n_new, n_counted, (long long)max_depth);
fail:
    PyBuffer_Release(&vc);
fail_n:
    PyBuffer_Release(&vn);
fail_r:
    PyBuffer_Release(&vr);
fail_l:
    PyBuffer_Release(&vl);
fail_p:
    PyBuffer_Release(&vp);
fail_m:
    PyMem_Free(first_new);
    return NULL;
}

PyDoc_STRVAR(backup_doc,
             "backup(counted, n)\n\n"
             "Take every virtual loss off, then add the leaf value of each of the first n (game, leaf) rows of "
             "counted int64 [n, 2] to every node on its path, in order, negated wherever the player to move "
             "changes.");

static PyObject *walker_backup(Walker *w, PyObject *args) {
    PyObject *o_counted;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &o_counted, &n)) return NULL;
    Py_buffer vc;
    if (get_buffer(o_counted, &vc, 8, n * 2, "counted") < 0) return NULL;
    const int64_t *rows = vc.buf;
    const Py_ssize_t B = w->B, N = w->N;
    memset(w->virt, 0, sizeof(float) * B * N);
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t b = rows[2 * i], cur = rows[2 * i + 1];
        if (b < 0 || b >= B || cur < 0 || cur >= N) {
            PyBuffer_Release(&vc);
            PyErr_Format(PyExc_IndexError, "backup: row %zd (game %lld, node %lld) is outside the tree", i,
                         (long long)b, (long long)cur);
            return NULL;
        }
        float *visits = w->visits + b * N, *value_sum = w->value_sum + b * N;
        const int64_t *parent = w->parent + b * N, *player = w->player + b * N;
        float v = w->raw_value[b * N + cur];
        for (;;) {
            visits[cur] += 1.0f;
            value_sum[cur] += v;
            int64_t par = parent[cur];
            if (par < 0) break;
            if (player[par] != player[cur]) v = -v;
            cur = par;
        }
    }
    PyBuffer_Release(&vc);
    Py_RETURN_NONE;
}

static PyMethodDef walker_methods[] = {
    {"walk", (PyCFunction)walker_walk, METH_VARARGS, walk_doc},
    {"backup", (PyCFunction)walker_backup, METH_VARARGS, backup_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject WalkerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agents._search_walk.Walker",
    .tp_basicsize = sizeof(Walker),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Walker(visits, value_sum, raw_value, prior, legal, children, parent, depth, terminal, virtual, "
              "num_nodes, player): the walks over one tree's arrays (see the module docstring)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)walker_init,
    .tp_dealloc = (destructor)walker_dealloc,
    .tp_methods = walker_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_search_walk",
                                    "The leaf batch's tree walks in C (see agents/host_tree.py).", -1, NULL};

PyMODINIT_FUNC PyInit__search_walk(void) {
    if (PyType_Ready(&WalkerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&WalkerType);
    if (PyModule_AddObject(m, "Walker", (PyObject *)&WalkerType) < 0) {
        Py_DECREF(&WalkerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
