package org

import "sort"

// Tree is an in-memory snapshot of the organisation: every institution,
// indexed by ID and by parent. It is built once from the store and shared
// read-only; a change to the organisation makes a new Tree.
type Tree struct {
	byID     map[int64]*Institution
	children map[int64][]int64
}

// NewTree indexes institutions. Children are sorted by kind order, then name.
func NewTree(insts []Institution) *Tree {
	t := &Tree{byID: make(map[int64]*Institution, len(insts)), children: map[int64][]int64{}}
	for i := range insts {
		in := insts[i]
		t.byID[in.ID] = &in
	}
	for id, in := range t.byID {
		t.children[in.ParentID] = append(t.children[in.ParentID], id)
	}
	rank := map[Kind]int{}
	for i, k := range Kinds {
		rank[k] = i
	}
	for _, ids := range t.children {
		sort.Slice(ids, func(i, j int) bool {
			a, b := t.byID[ids[i]], t.byID[ids[j]]
			if rank[a.Kind] != rank[b.Kind] {
				return rank[a.Kind] < rank[b.Kind]
			}
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return a.ID < b.ID
		})
	}
	return t
}

// Get returns the institution with id, or nil.
func (t *Tree) Get(id int64) *Institution { return t.byID[id] }

// Len returns the number of institutions.
func (t *Tree) Len() int { return len(t.byID) }

// Children returns the direct children of id (0 for the roots).
func (t *Tree) Children(id int64) []*Institution {
	var out []*Institution
	for _, c := range t.children[id] {
		out = append(out, t.byID[c])
	}
	return out
}

// Subtree returns id and every institution below it, depth first.
func (t *Tree) Subtree(id int64) []int64 {
	if t.byID[id] == nil {
		return nil
	}
	out := []int64{id}
	for i := 0; i < len(out); i++ {
		out = append(out, t.children[out[i]]...)
	}
	return out
}

// Ancestors returns the chain from the root down to id's parent.
// A cycle (which the store prevents) stops the walk.
func (t *Tree) Ancestors(id int64) []*Institution {
	var out []*Institution
	seen := map[int64]bool{id: true}
	for in := t.byID[id]; in != nil && in.ParentID != 0 && !seen[in.ParentID]; in = t.byID[in.ParentID] {
		seen[in.ParentID] = true
		if p := t.byID[in.ParentID]; p != nil {
			out = append([]*Institution{p}, out...)
		}
	}
	return out
}

// IsWithin reports whether id is root or below it.
func (t *Tree) IsWithin(id, root int64) bool {
	if id == root {
		return true
	}
	for _, a := range t.Ancestors(id) {
		if a.ID == root {
			return true
		}
	}
	return false
}

// Community returns the community (医共体) id belongs to, or nil.
func (t *Tree) Community(id int64) *Institution {
	if in := t.byID[id]; in != nil && in.Kind == KindCommunity {
		return in
	}
	as := t.Ancestors(id)
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].Kind == KindCommunity {
			return as[i]
		}
	}
	return nil
}

// Roots returns the institutions without a parent: counties and partner hospitals.
func (t *Tree) Roots() []*Institution { return t.Children(0) }

// OfKind returns every institution of kind k under root (0 for all), by name.
func (t *Tree) OfKind(root int64, k Kind) []*Institution {
	var ids []int64
	if root == 0 {
		for id := range t.byID {
			ids = append(ids, id)
		}
	} else {
		ids = t.Subtree(root)
	}
	var out []*Institution
	for _, id := range ids {
		if in := t.byID[id]; in.Kind == k {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].ID < out[j].ID
	})
	return out
}
