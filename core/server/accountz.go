package server

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Accountz is the /accountz document.
type Accountz struct {
	ID            string       `json:"server_id"`
	Now           time.Time    `json:"now"`
	SystemAccount string       `json:"system_account,omitempty"`
	Accounts      []string     `json:"accounts,omitempty"`
	Account       *AccountInfo `json:"account_detail,omitempty"`
}

// AccountInfo is one account's detail in /accountz?acc=.
type AccountInfo struct {
	AccountName string         `json:"account_name"`
	LastUpdate  time.Time      `json:"update_time,omitempty"`
	IsSystem    bool           `json:"is_system,omitempty"`
	Expired     bool           `json:"expired"`
	Complete    bool           `json:"complete"`
	JetStream   bool           `json:"jetstream_enabled"`
	LeafCnt     int            `json:"leafnode_connections"`
	ClientCnt   int            `json:"client_connections"`
	SubCnt      uint32         `json:"subscriptions"`
	Mappings    map[string]any `json:"mappings,omitempty"`
	Exports     []ExportInfo   `json:"exports,omitempty"`
	Imports     []ImportInfo   `json:"imports,omitempty"`
}

// ExportInfo describes one export in account details.
type ExportInfo struct {
	Subject      string   `json:"subject"`
	Type         string   `json:"type"`
	Accounts     []string `json:"accounts,omitempty"`
	ResponseType string   `json:"response_type,omitempty"`
}

// ImportInfo describes one import in account details.
type ImportInfo struct {
	Subject      string `json:"subject"`
	Account      string `json:"account"`
	To           string `json:"to,omitempty"`
	LocalSubject string `json:"local_subject"`
	Type         string `json:"type"`
	Invalid      bool   `json:"invalid"`
	Share        bool   `json:"share"`
	Tracking     bool   `json:"tracking"`
}

func (s *Server) handleAccountz(w http.ResponseWriter, r *http.Request) {
	az, err := s.Accountz(r.URL.Query().Get("acc"))
	if err != nil {
		writeJSON(w, r, map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, r, az)
}

// Accountz returns the /accountz document: every account's name, or the
// detail of one.
func (s *Server) Accountz(name string) (*Accountz, error) {
	az := &Accountz{ID: s.id, Now: time.Now().UTC()}
	if sa := s.SystemAccount(); sa != nil {
		az.SystemAccount = sa.Name
	}
	if name != "" {
		a, ok := s.LookupAccount(name)
		if !ok {
			return nil, fmt.Errorf("Account %s does not exist", name)
		}
		az.Account = s.accountInfo(a)
		return az, nil
	}
	for _, a := range s.Accounts() {
		az.Accounts = append(az.Accounts, a.Name)
	}
	sort.Strings(az.Accounts)
	return az, nil
}

func (s *Server) accountInfo(a *Account) *AccountInfo {
	ai := &AccountInfo{
		AccountName: a.Name, LastUpdate: a.created, Complete: true,
		JetStream: a.JetStreamLimits() != nil,
		ClientCnt: a.NumConnections(), SubCnt: uint32(a.sl.Count()),
	}
	if sa := s.SystemAccount(); sa == a {
		ai.IsSystem = true
	}
	a.mu.RLock()
	for _, e := range a.exports {
		ei := ExportInfo{Subject: e.subject, Type: "stream"}
		if e.service {
			ei.Type, ei.ResponseType = "service", e.respType
		}
		for n := range e.accounts {
			ei.Accounts = append(ei.Accounts, n)
		}
		sort.Strings(ei.Accounts)
		ai.Exports = append(ai.Exports, ei)
	}
	for _, im := range a.imports {
		ii := ImportInfo{Subject: im.cfg.Subject, Account: im.cfg.Account, LocalSubject: im.cfg.To, Type: "stream", Share: im.system}
		if ii.LocalSubject == "" {
			ii.LocalSubject = ii.Subject
		}
		if im.cfg.Service {
			ii.Type = "service"
			ii.To = im.cfg.To
		}
		ai.Imports = append(ai.Imports, ii)
	}
	a.mu.RUnlock()
	if m := a.mappings.Load(); m != nil {
		ai.Mappings = map[string]any{}
		for _, mp := range m.all() {
			var dests []string
			for _, d := range mp.dests {
				dests = append(dests, d.dst)
			}
			ai.Mappings[mp.src] = dests
		}
	}
	return ai
}
