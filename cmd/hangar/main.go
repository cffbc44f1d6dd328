// Command hangar runs the Hangar message broker.
//
//	hangar [run] [flags]   start a server (plain `hangar [flags]` works too)
//	hangar version         print the version
//
// Everything but process entry lives in package app so that tests can
// assemble the same server in-process.
package main

import (
	"os"

	"github.com/hangar-mq/hangar/cmd/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:]))
}
