package config

import (
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/subject"
	"github.com/nats-io/nkeys"
)

// authorization reads the authorization block.
func (l *loader) authorization(m map[string]any) {
	o := l.o
	for _, e := range entries(m) {
		v := e.v
		switch e.k {
		case "user", "username":
			if s, ok := l.str(e.key, v); ok {
				o.Username = s
				l.mark("user", v)
			}
		case "password", "pass":
			if s, ok := l.str(e.key, v); ok {
				o.Password = s
			}
		case "token":
			if s, ok := l.str(e.key, v); ok {
				o.Authorization = s
				l.mark("token", v)
			}
		case "timeout":
			if d, ok := l.duration(e.key, v); ok {
				o.AuthTimeout = d
			}
		case "users":
			users, nks := l.users(e.key, v)
			o.Users = append(o.Users, users...)
			o.Nkeys = append(o.Nkeys, nks...)
		case "permissions":
			o.Permissions = l.permissions(e.key, v)
		case "default_permissions":
			o.DefaultPermissions = l.permissions(e.key, v)
		case "auth_callout", "callout":
			l.unsupported(e)
		default:
			l.unknown(e)
		}
	}
}

// users reads a users list: each entry a user/password or an nkey.
func (l *loader) users(name string, v val) ([]*server.User, []*server.NkeyUser) {
	list, ok := l.list(name, v)
	if !ok {
		return nil, nil
	}
	var users []*server.User
	var nks []*server.NkeyUser
	for _, x := range list {
		uv := wrap(x)
		m, ok := l.block("user", uv)
		if !ok {
			continue
		}
		var u server.User
		var nk string
		var perms *server.Permissions
		var types []string
		var userAt, nkeyAt val
		for _, e := range entries(m) {
			switch e.k {
			case "user", "username":
				if s, ok := l.str(e.key, e.v); ok {
					u.Username, userAt = s, e.v
				}
			case "password", "pass":
				if s, ok := l.str(e.key, e.v); ok {
					u.Password = s
				}
			case "nkey":
				if s, ok := l.str(e.key, e.v); ok {
					nk, nkeyAt = s, e.v
				}
			case "permissions":
				perms = l.permissions(e.key, e.v)
			case "allowed_connection_types", "connection_types", "clients":
				if t, ok := l.strList(e.key, e.v); ok {
					types = t
				}
			case "account":
				l.unknown(e)
			default:
				l.unknown(e)
			}
		}
		switch {
		case nk != "" && u.Username != "":
			l.errf(userAt, "user entry has both a user and an nkey")
		case nk != "":
			if !nkeys.IsValidPublicUserKey(nk) {
				l.errf(nkeyAt, "Not a valid public nkey for a user: %q", nk)
				continue
			}
			nu := &server.NkeyUser{Nkey: nk, Permissions: perms}
			l.mark(nu, nkeyAt)
			nks = append(nks, nu)
		case u.Username != "":
			u.Permissions, u.AllowedConnectionTypes = perms, types
			l.mark(&u, userAt)
			users = append(users, &u)
		default:
			l.errf(uv, "user entry needs a user or an nkey")
		}
	}
	return users, nks
}

// permissions reads {publish, subscribe, allow_responses}.
func (l *loader) permissions(name string, v val) *server.Permissions {
	m, ok := l.block(name, v)
	if !ok {
		return nil
	}
	p := &server.Permissions{}
	for _, e := range entries(m) {
		switch e.k {
		case "publish", "pub":
			p.Publish = l.subjectPerm(e.key, e.v)
		case "subscribe", "sub":
			p.Subscribe = l.subjectPerm(e.key, e.v)
		case "allow_responses":
			p.Response = l.responses(e.key, e.v)
		default:
			l.errf(e.v, "Unknown field %q parsing permissions", e.key)
		}
	}
	return p
}

// subjectPerm reads a subject, a list (the allow list) or {allow, deny}.
func (l *loader) subjectPerm(name string, v val) *server.SubjectPermission {
	if m, ok := v.v.(map[string]any); ok {
		sp := &server.SubjectPermission{}
		for _, e := range entries(m) {
			switch e.k {
			case "allow":
				sp.Allow, _ = l.strList(e.key, e.v)
			case "deny":
				sp.Deny, _ = l.strList(e.key, e.v)
			default:
				l.errf(e.v, "Unknown field name %q parsing subject permissions, only 'allow' or 'deny' are permitted", e.key)
			}
		}
		return sp
	}
	allow, ok := l.strList(name, v)
	if !ok {
		return nil
	}
	return &server.SubjectPermission{Allow: allow}
}

// responses reads allow_responses: true, or {max, expires}.
func (l *loader) responses(name string, v val) *server.ResponsePermission {
	switch x := v.v.(type) {
	case bool:
		if !x {
			return nil
		}
		return &server.ResponsePermission{MaxMsgs: 1, Expires: 2 * time.Minute}
	case map[string]any:
		rp := &server.ResponsePermission{MaxMsgs: 1, Expires: 2 * time.Minute}
		for _, e := range entries(x) {
			switch e.k {
			case "max", "max_msgs", "max_messages", "max_responses":
				if n, ok := l.intIn(e.key, e.v, 1, 1<<31-1); ok {
					rp.MaxMsgs = int(n)
				}
			case "expires", "ttl":
				if d, ok := l.duration(e.key, e.v); ok {
					rp.Expires = d
				}
			default:
				l.errf(e.v, "Unknown field %q parsing permissions", e.key)
			}
		}
		return rp
	}
	l.wrongType(name, v, "true or { max, expires }")
	return nil
}

// accounts reads accounts { NAME { ... } ... }.
func (l *loader) accounts(m map[string]any) {
	for _, e := range entries(m) {
		b, ok := l.block(e.key, e.v)
		if !ok {
			continue
		}
		ac := &server.AccountConfig{Name: e.key}
		for _, f := range entries(b) {
			switch f.k {
			case "users":
				users, nks := l.users(f.key, f.v)
				ac.Users, ac.Nkeys = append(ac.Users, users...), append(ac.Nkeys, nks...)
			case "exports":
				ac.Exports = l.exports(f.key, f.v)
			case "imports":
				ac.Imports = l.imports(f.key, f.v)
			case "jetstream":
				ac.JetStream = l.accountJetStream(f)
			case "default_permissions":
				ac.DefaultPermissions = l.permissions(f.key, f.v)
			case "mappings", "mapping":
				if mb, ok := l.block(f.key, f.v); ok {
					ac.Mappings = l.mappings(mb)
				}
			case "nkey", "limits", "msg_trace", "trace_dest":
				l.unsupported(f)
			default:
				l.unknown(f)
			}
		}
		l.o.Accounts = append(l.o.Accounts, ac)
	}
}

// exports reads [{stream: subj} | {service: subj, ...}].
func (l *loader) exports(name string, v val) []*server.ExportConfig {
	list, ok := l.list(name, v)
	if !ok {
		return nil
	}
	var out []*server.ExportConfig
	for _, x := range list {
		xv := wrap(x)
		m, ok := l.block("export", xv)
		if !ok {
			continue
		}
		ex := &server.ExportConfig{}
		kinds := 0
		for _, e := range entries(m) {
			switch e.k {
			case "stream":
				ex.Subject, _ = l.str(e.key, e.v)
				kinds++
			case "service":
				ex.Subject, _ = l.str(e.key, e.v)
				ex.Service = true
				kinds++
			case "accounts":
				ex.Accounts, _ = l.strList(e.key, e.v)
			case "response_type", "response":
				if s, ok := l.str(e.key, e.v); ok {
					switch lower(s) {
					case "singleton", "single":
						ex.ResponseType = server.RespSingleton
					case "stream":
						ex.ResponseType = server.RespStream
					case "chunked", "chunk":
						ex.ResponseType = server.RespChunked
					default:
						l.errf(e.v, "%s: unknown response type %q (Singleton, Stream or Chunked)", e.key, s)
					}
				}
			case "response_threshold", "threshold":
				ex.ResponseThreshold, _ = l.duration(e.key, e.v)
			case "account_token_position", "latency", "allow_trace", "advertise":
				l.unsupported(e)
			default:
				l.unknown(e)
			}
		}
		if kinds != 1 {
			l.errf(xv, "an export needs exactly one of stream or service")
			continue
		}
		if ex.ResponseType != "" && !ex.Service {
			l.errf(xv, "response_type applies to service exports only")
		}
		out = append(out, ex)
	}
	return out
}

// imports reads [{stream: {account, subject}, prefix|to} | {service: {...}, to}].
func (l *loader) imports(name string, v val) []*server.ImportConfig {
	list, ok := l.list(name, v)
	if !ok {
		return nil
	}
	var out []*server.ImportConfig
	for _, x := range list {
		xv := wrap(x)
		m, ok := l.block("import", xv)
		if !ok {
			continue
		}
		im := &server.ImportConfig{}
		kinds := 0
		var prefix, to string
		var prefixAt val
		for _, e := range entries(m) {
			switch e.k {
			case "stream", "service":
				kinds++
				im.Service = e.k == "service"
				if src, ok := l.block(e.key, e.v); ok {
					for _, f := range entries(src) {
						switch f.k {
						case "account":
							im.Account, _ = l.str(f.key, f.v)
						case "subject":
							im.Subject, _ = l.str(f.key, f.v)
						default:
							l.unknown(f)
						}
					}
				}
			case "prefix":
				prefix, _ = l.str(e.key, e.v)
				prefixAt = e.v
			case "to":
				to, _ = l.str(e.key, e.v)
			case "share", "allow_trace":
				l.unsupported(e)
			default:
				l.unknown(e)
			}
		}
		switch {
		case kinds != 1:
			l.errf(xv, "an import needs exactly one of stream or service")
			continue
		case im.Account == "" || im.Subject == "":
			l.errf(xv, "an import needs an account and a subject")
			continue
		case prefix != "" && to != "":
			l.errf(prefixAt, "an import takes prefix or to, not both")
		case prefix != "":
			im.To = prefix + "." + im.Subject
		default:
			im.To = to
		}
		l.mark(im, xv)
		out = append(out, im)
	}
	return out
}

// mappings reads { "src": "dst" | [{destination, weight}] }.
func (l *loader) mappings(m map[string]any) []*server.MappingConfig {
	var out []*server.MappingConfig
	for _, e := range entries(m) {
		if !subject.Valid(e.key) {
			l.errf(e.v, "mapping source %q is not a valid subject", e.key)
			continue
		}
		mc := &server.MappingConfig{Source: e.key}
		switch x := e.v.v.(type) {
		case string:
			mc.Destinations = []*server.MapDestination{{Subject: x, Weight: 100}}
		case []any:
			total := 0
			for _, d := range x {
				dv := wrap(d)
				db, ok := l.block("mapping destination", dv)
				if !ok {
					continue
				}
				md := &server.MapDestination{}
				for _, f := range entries(db) {
					switch f.k {
					case "destination", "dest":
						md.Subject, _ = l.str(f.key, f.v)
					case "weight":
						md.Weight = l.weight(f)
					case "cluster":
						l.unsupported(f)
					default:
						l.unknown(f)
					}
				}
				if md.Subject == "" {
					l.errf(dv, "mapping %q: destination without a subject", e.key)
				}
				total += int(md.Weight)
				mc.Destinations = append(mc.Destinations, md)
			}
			if total > 100 {
				l.errf(e.v, "mapping %q: weights add up to %d%%, above 100%%", e.key, total)
			}
		default:
			l.wrongType(e.key, e.v, "a subject or a list of weighted destinations")
			continue
		}
		for _, d := range mc.Destinations {
			if d.Subject == "" {
				continue
			}
			if err := server.ValidateMapping(mc.Source, d.Subject); err != nil {
				l.errf(e.v, "mapping %q: %v", e.key, err)
			}
		}
		out = append(out, mc)
	}
	return out
}

// weight reads 50, "50%" or "50".
func (l *loader) weight(e entry) uint8 {
	var n int64
	switch x := e.v.v.(type) {
	case int64:
		n = x
	case string:
		s := x
		if len(s) > 0 && s[len(s)-1] == '%' {
			s = s[:len(s)-1]
		}
		var err error
		if n, err = parseInt(s); err != nil {
			l.wrongType(e.key, e.v, "a percentage")
			return 0
		}
	default:
		l.wrongType(e.key, e.v, "a percentage")
		return 0
	}
	if n < 0 || n > 100 {
		l.errf(e.v, "%s: %d%% is out of range [0, 100]", e.key, n)
		return 0
	}
	return uint8(n)
}
