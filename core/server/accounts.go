package server

import (
	"errors"
	"fmt"

	"github.com/hangar-mq/hangar/core/subject"
)

// ValidateImport checks one import of account importer against the
// accounts and exports in o: the exporting account must exist and export
// the subject to the importer. Configuration loaders call it to report the
// error at the import's position in the file.
func ValidateImport(o *Options, importer string, ic *ImportConfig) error {
	names := accountNames(o)
	return checkImport(importer, ic, names, func(n string) []*ExportConfig {
		if ac := names[n]; ac != nil {
			return ac.Exports
		}
		return nil
	})
}

func accountNames(o *Options) map[string]*AccountConfig {
	names := map[string]*AccountConfig{GlobalAccountName: nil}
	if o.SystemAccount != "" {
		names[o.SystemAccount] = nil
	} else if !o.NoSystemAccount {
		names[SystemAccountName] = nil
	}
	for _, ac := range o.Accounts {
		if names[ac.Name] == nil {
			names[ac.Name] = ac
		}
	}
	return names
}

// validateAccounts checks the account section of o without touching the
// server, so that a bad reload leaves everything as it was.
func validateAccounts(o *Options) error {
	names := map[string]*AccountConfig{GlobalAccountName: nil}
	if o.SystemAccount != "" {
		names[o.SystemAccount] = nil
	} else if !o.NoSystemAccount {
		names[SystemAccountName] = nil
	}
	for _, ac := range o.Accounts {
		if ac.Name == "" {
			return errors.New("account with no name")
		}
		if cur, dup := names[ac.Name]; dup && cur != nil {
			return fmt.Errorf("duplicate account %q", ac.Name)
		}
		names[ac.Name] = ac
	}
	exportsOf := func(name string) []*ExportConfig {
		if ac := names[name]; ac != nil {
			return ac.Exports
		}
		return nil
	}
	for _, ac := range o.Accounts {
		for _, e := range ac.Exports {
			if !subject.Valid(e.Subject) {
				return fmt.Errorf("account %q: invalid export subject %q", ac.Name, e.Subject)
			}
		}
		if _, err := compileMappings(ac.Mappings); err != nil {
			return fmt.Errorf("account %q: %w", ac.Name, err)
		}
		for _, ic := range ac.Imports {
			if err := checkImport(ac.Name, ic, names, exportsOf); err != nil {
				return err
			}
		}
	}
	if _, err := compileMappings(o.Mappings); err != nil {
		return err
	}
	return nil
}

// checkImport validates one import against the configured exports.
func checkImport(importer string, ic *ImportConfig, names map[string]*AccountConfig, exportsOf func(string) []*ExportConfig) error {
	kind := "stream"
	if ic.Service {
		kind = "service"
	}
	if _, ok := names[ic.Account]; !ok {
		return fmt.Errorf("%q account not defined for %s import", ic.Account, kind)
	}
	if !subject.Valid(ic.Subject) {
		return fmt.Errorf("Error adding %s import %q: invalid subject", kind, ic.Subject)
	}
	local := ic.To
	if local == "" {
		local = ic.Subject
	}
	var err error
	if ic.Service {
		_, err = importTransform(local, ic.Subject)
	} else {
		_, err = importTransform(ic.Subject, local)
	}
	if err != nil {
		return fmt.Errorf("Error adding %s import %q: %w", kind, ic.Subject, err)
	}
	for _, e := range exportsOf(ic.Account) {
		if e.Service != ic.Service || !subject.SubsetOf(ic.Subject, e.Subject) {
			continue
		}
		if e.Accounts == nil {
			return nil
		}
		for _, n := range e.Accounts {
			if n == importer {
				return nil
			}
		}
	}
	return fmt.Errorf("Error adding %s import %q: %s import not authorized", kind, ic.Subject, kind)
}

// applyAccounts creates the configured accounts and (re)installs their
// exports, mappings, JetStream limits and imports, then builds and
// returns the identities. Imports are installed after every account's
// exports so that order in the file does not matter.
func (s *Server) applyAccounts(o *Options) (*authState, error) {
	if err := validateAccounts(o); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for _, ac := range o.Accounts {
		s.registerAccountLocked(ac.Name)
	}
	var sys *Account
	switch {
	case o.SystemAccount != "":
		sys = s.registerAccountLocked(o.SystemAccount)
	case !o.NoSystemAccount:
		sys = s.registerAccountLocked(SystemAccountName)
	}
	s.sysAcc = sys
	accs := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		accs = append(accs, a)
	}
	s.mu.Unlock()

	st, err := buildAuth(o, func(n string) bool { _, ok := s.LookupAccount(n); return ok })
	if err != nil {
		return nil, err
	}
	cfg := make(map[string]*AccountConfig, len(o.Accounts))
	userAccounts := 0
	for _, ac := range o.Accounts {
		cfg[ac.Name] = ac
		if sys == nil || ac.Name != sys.Name {
			userAccounts++
		}
	}
	for _, a := range accs {
		a.removeImports()
		ac := cfg[a.Name]
		var exports []*ExportConfig
		var maps []*MappingConfig
		var js *JetStreamAccountLimits
		if ac != nil {
			exports, maps, js = ac.Exports, ac.Mappings, ac.JetStream
		}
		if a == s.gacc && ac == nil {
			maps = o.Mappings
			if o.JetStream && userAccounts == 0 {
				js = UnlimitedJetStream()
			}
		}
		if a == sys || !o.JetStream {
			js = nil
		}
		if err := a.setExports(exports); err != nil {
			return nil, err
		}
		if err := a.setMappings(maps); err != nil {
			return nil, err
		}
		a.SetJetStreamLimits(js)
	}
	for _, a := range accs {
		if ac := cfg[a.Name]; ac != nil {
			for _, ic := range ac.Imports {
				if err := s.addImport(a, ic, false); err != nil {
					return nil, fmt.Errorf("account %q: %w", a.Name, err)
				}
			}
		}
		if sys != nil && a != sys {
			for _, ic := range systemImports(a.Name, sys.Name) {
				if err := s.addImport(a, ic, true); err != nil {
					return nil, err
				}
			}
		}
	}
	return st, nil
}

// systemImports are the system-account services every other account can
// reach, each answered for that account only: who am I, my connections,
// my statistics.
func systemImports(acc, sys string) []*ImportConfig {
	return []*ImportConfig{
		{Account: sys, Service: true, Subject: "$SYS.REQ.USER." + acc + ".INFO", To: "$SYS.REQ.USER.INFO"},
		{Account: sys, Service: true, Subject: "$SYS.REQ.ACCOUNT." + acc + ".CONNZ", To: "$SYS.REQ.ACCOUNT.PING.CONNZ"},
		{Account: sys, Service: true, Subject: "$SYS.REQ.ACCOUNT." + acc + ".CONNZ", To: "$SYS.REQ.SERVER.PING.CONNZ"},
		{Account: sys, Service: true, Subject: "$SYS.REQ.ACCOUNT." + acc + ".STATZ", To: "$SYS.REQ.ACCOUNT.PING.STATZ"},
	}
}
