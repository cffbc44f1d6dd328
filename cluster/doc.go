// Package cluster will replicate JetStream state over RAFT groups (see
// CLUSTER.md). It is a placeholder until the cluster issue lands.
package cluster
