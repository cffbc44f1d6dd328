// Package app is the hangar command: flag parsing in the reference server's
// habits, configuration loading, and the assembly of the core with the
// built-in modules (the only place that imports them).
package app
