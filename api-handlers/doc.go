// Package apihandlers groups the built-in $JS.API families, one package
// each. Importing a family's package registers it with the JetStream
// runtime; package all imports every built-in family.
package apihandlers
