package app

import (
	"fmt"
	"os"

	"github.com/hangar-mq/hangar/core/server"
)

// Main dispatches the sub-command and returns the exit code.
func Main(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "run":
			return runServer(args[1:])
		case "check":
			return checkConfig(args[1:], os.Stdout, os.Stderr)
		case "version", "--version", "-v", "-version":
			fmt.Printf("hangar %s (NATS protocol %s)\n", server.Version, server.ProtocolVersion)
			return 0
		case "help":
			usage(os.Stdout)
			return 0
		case "plugins":
			return pluginsCommand(args[1:])
		}
	}
	return runServer(args)
}
