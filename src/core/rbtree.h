/*
 * rbtree.h: an intrusive red-black tree (CLRS, with parent pointers and the
 * colour packed in the parent word).  It knows nothing about keys: callers
 * descend the tree themselves, link the new node with rb_link and call
 * rb_insert_fixup.  No allocation, no syscalls, no locking.
 */
#ifndef VW_RBTREE_H
#define VW_RBTREE_H

#include <stddef.h>
#include <stdint.h>

struct rb_node {
    uintptr_t parent_color;   /* parent pointer | colour bit (1 = black) */
    struct rb_node *left, *right;
};

struct rb_root {
    struct rb_node *node;
};

static inline struct rb_node *rb_parent(const struct rb_node *n)
{
    return (struct rb_node *)(n->parent_color & ~(uintptr_t)3);
}

/* Links `node` as a red leaf under `parent` at *link (&parent->left, ...). */
static inline void rb_link(struct rb_node *node, struct rb_node *parent, struct rb_node **link)
{
    node->parent_color = (uintptr_t)parent;
    node->left = node->right = NULL;
    *link = node;
}

void rb_insert_fixup(struct rb_root *root, struct rb_node *node);
void rb_erase(struct rb_root *root, struct rb_node *node);
struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

#endif
