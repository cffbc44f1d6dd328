// Package mem is the memory store, the backend of streams with storage:
// memory. It registers itself as "store.memory".
//
// Messages live in a slice ordered by sequence, with removed entries marked
// and squeezed out once they are the majority; a per-subject index keeps the
// ascending sequences of every subject, so first, last and counts per subject
// are exact. Loads copy nothing: the Header and Data of a returned Msg alias
// the store's memory and are read-only. The store never writes into a
// message's bytes after storing them (Erase drops the reference instead of
// overwriting, since readers may hold aliases), so an aliased slice stays
// valid for as long as the caller keeps it.
package mem
