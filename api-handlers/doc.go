// Package apihandlers groups the $JS.API families. Each family lives in its
// own sub-package and registers itself with the JetStream router in core.
package apihandlers
