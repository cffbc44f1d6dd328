// Package config reads Hangar's configuration file into server.Options.
//
// The file format is the reference server's (blocks with braces, `:` or
// `=` or nothing between key and value, comments, includes, $VARIABLES
// from the file or the environment, sizes like 64MB and durations like
// "2m"); it is parsed by the reference's own conf package in its pedantic
// mode, which keeps every value's file and line. Every key is checked: an
// unknown key, a key Hangar does not support yet and a value of the wrong
// kind are all errors that name the file, line and column, and every such
// error in the file is reported, not just the first.
//
// Format writes Options back as a configuration file, which is what
// `hangar check` prints.
package config
