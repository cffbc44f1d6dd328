package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hangar-mq/hangar/plugins"
)

// List writes the `hangar plugins ls` table: the built-in stores of the
// registry, the built-in API families named by builtinFamilies, and the
// plugins of cfg, which it starts (to run their handshake and ask what
// they serve) and stops again. A plugin that fails to start fails List.
func List(ctx context.Context, w io.Writer, cfg plugins.Config, builtinFamilies []string) error {
	var h *plugins.Host
	if len(cfg.Plugins) > 0 || cfg.Dir != "" {
		h = plugins.NewHost(cfg)
		if err := h.Start(ctx); err != nil {
			return err
		}
		defer h.Stop(ctx)
	}
	return WriteEntries(w, plugins.Inventory(ctx, h, builtinFamilies))
}

// WriteEntries writes entries as the `plugins ls` table.
func WriteEntries(w io.Writer, entries []plugins.Entry) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tID\tVERSION\tSOURCE\tDETAILS")
	for _, e := range entries {
		var details []string
		if len(e.Capabilities) > 0 {
			details = append(details, strings.Join(e.Capabilities, ","))
		}
		if len(e.Endpoints) > 0 {
			details = append(details, strings.Join(e.Endpoints, " "))
		}
		if e.State != "" {
			details = append(details, e.State)
		}
		if e.Err != "" {
			details = append(details, "error: "+e.Err)
		}
		version := e.Version
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Kind, e.ID, version, e.Source, strings.Join(details, "; "))
	}
	return tw.Flush()
}
