/*
 * rbtree.c: red-black tree balancing (see rbtree.h).  Invariants: the root is
 * black; a red node has black children; every path from a node to a leaf has
 * the same number of black nodes, so depth is at most 2*log2(n+1).
 */
#include "core/rbtree.h"

#define RB_BLACK 1u

static inline int is_red(const struct rb_node *n)
{
    return n && !(n->parent_color & RB_BLACK);
}

static inline void set_black(struct rb_node *n)
{
    n->parent_color |= RB_BLACK;
}

static inline void set_red(struct rb_node *n)
{
    n->parent_color &= ~(uintptr_t)RB_BLACK;
}

static inline void set_parent(struct rb_node *n, struct rb_node *p)
{
    n->parent_color = (uintptr_t)p | (n->parent_color & RB_BLACK);
}

static inline void copy_color(struct rb_node *dst, const struct rb_node *src)
{
    dst->parent_color = (dst->parent_color & ~(uintptr_t)RB_BLACK) | (src->parent_color & RB_BLACK);
}

/* Makes `to` take `from`'s place under from's parent. */
static void replace_child(struct rb_root *root, struct rb_node *from, struct rb_node *to)
{
    struct rb_node *p = rb_parent(from);
    if (!p)
        root->node = to;
    else if (p->left == from)
        p->left = to;
    else
        p->right = to;
    if (to)
        set_parent(to, p);
}

static void rotate_left(struct rb_root *root, struct rb_node *x)
{
    struct rb_node *y = x->right;
    x->right = y->left;
    if (y->left)
        set_parent(y->left, x);
    replace_child(root, x, y);
    y->left = x;
    set_parent(x, y);
}

static void rotate_right(struct rb_root *root, struct rb_node *x)
{
    struct rb_node *y = x->left;
    x->left = y->right;
    if (y->right)
        set_parent(y->right, x);
    replace_child(root, x, y);
    y->right = x;
    set_parent(x, y);
}

void rb_insert_fixup(struct rb_root *root, struct rb_node *z)
{
    struct rb_node *p;
    while ((p = rb_parent(z)) && is_red(p)) {
        struct rb_node *g = rb_parent(p);   /* exists: a red node is never the root */
        if (p == g->left) {
            struct rb_node *u = g->right;
            if (is_red(u)) {
                set_black(p);
                set_black(u);
                set_red(g);
                z = g;
                continue;
            }
            if (z == p->right) {
                rotate_left(root, p);
                z = p;
                p = rb_parent(z);
            }
            set_black(p);
            set_red(g);
            rotate_right(root, g);
        } else {
            struct rb_node *u = g->left;
            if (is_red(u)) {
                set_black(p);
                set_black(u);
                set_red(g);
                z = g;
                continue;
            }
            if (z == p->left) {
                rotate_right(root, p);
                z = p;
                p = rb_parent(z);
            }
            set_black(p);
            set_red(g);
            rotate_left(root, g);
        }
    }
    set_black(root->node);
}

static void erase_fixup(struct rb_root *root, struct rb_node *x, struct rb_node *xp)
{
    while (x != root->node && !is_red(x)) {
        if (x == xp->left) {
            struct rb_node *w = xp->right;
            if (is_red(w)) {
                set_black(w);
                set_red(xp);
                rotate_left(root, xp);
                w = xp->right;
            }
            if (!is_red(w->left) && !is_red(w->right)) {
                set_red(w);
                x = xp;
                xp = rb_parent(x);
            } else {
                if (!is_red(w->right)) {
                    set_black(w->left);
                    set_red(w);
                    rotate_right(root, w);
                    w = xp->right;
                }
                copy_color(w, xp);
                set_black(xp);
                set_black(w->right);
                rotate_left(root, xp);
                x = root->node;
                break;
            }
        } else {
            struct rb_node *w = xp->left;
            if (is_red(w)) {
                set_black(w);
                set_red(xp);
                rotate_right(root, xp);
                w = xp->left;
            }
            if (!is_red(w->left) && !is_red(w->right)) {
                set_red(w);
                x = xp;
                xp = rb_parent(x);
            } else {
                if (!is_red(w->left)) {
                    set_black(w->right);
                    set_red(w);
                    rotate_left(root, w);
                    w = xp->left;
                }
                copy_color(w, xp);
                set_black(xp);
                set_black(w->left);
                rotate_right(root, xp);
                x = root->node;
                break;
            }
        }
    }
    if (x)
        set_black(x);
}

void rb_erase(struct rb_root *root, struct rb_node *z)
{
    struct rb_node *x, *xp;
    int removed_black;
    if (!z->left || !z->right) {
        x = z->left ? z->left : z->right;
        xp = rb_parent(z);
        removed_black = !is_red(z);
        replace_child(root, z, x);
    } else {
        struct rb_node *y = z->right;
        while (y->left)
            y = y->left;
        removed_black = !is_red(y);
        x = y->right;
        if (rb_parent(y) == z) {
            xp = y;
        } else {
            xp = rb_parent(y);
            replace_child(root, y, y->right);
            y->right = z->right;
            set_parent(y->right, y);
        }
        replace_child(root, z, y);
        y->left = z->left;
        set_parent(y->left, y);
        copy_color(y, z);
    }
    if (removed_black)
        erase_fixup(root, x, xp);
}

struct rb_node *rb_first(const struct rb_root *root)
{
    struct rb_node *n = root->node;
    if (n)
        while (n->left)
            n = n->left;
    return n;
}

struct rb_node *rb_next(const struct rb_node *n)
{
    if (n->right) {
        n = n->right;
        while (n->left)
            n = n->left;
        return (struct rb_node *)n;
    }
    struct rb_node *p;
    while ((p = rb_parent(n)) && n == p->right)
        n = p;
    return p;
}

struct rb_node *rb_prev(const struct rb_node *n)
{
    if (n->left) {
        n = n->left;
        while (n->right)
            n = n->right;
        return (struct rb_node *)n;
    }
    struct rb_node *p;
    while ((p = rb_parent(n)) && n == p->left)
        n = p;
    return p;
}
