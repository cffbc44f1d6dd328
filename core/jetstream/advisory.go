package jetstream

import (
	"encoding/json"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/server"
)

// Advisory type strings.
const (
	advTypePrefix       = "io.nats.jetstream.advisory.v1."
	streamActionType    = advTypePrefix + "stream_action"
	consumerActionType  = advTypePrefix + "consumer_action"
	apiAuditType        = advTypePrefix + "api_audit"
	apiLimitType        = advTypePrefix + "api_limit_reached"
	snapCreateType      = advTypePrefix + "snapshot_create"
	snapCompleteType    = advTypePrefix + "snapshot_complete"
	restoreCreateType   = advTypePrefix + "restore_create"
	restoreCompleteType = advTypePrefix + "restore_complete"
)

// typedEvent is the envelope of every advisory.
type typedEvent struct {
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Time time.Time `json:"timestamp"`
}

func newEvent(typ string) typedEvent {
	return typedEvent{Type: typ, ID: newNUID(), Time: time.Now().UTC()}
}

// publishAdvisory sends v on subj in a when anyone listens: advisories are
// frequent and usually unwatched, so the marshal is skipped then.
func (rt *Runtime) publishAdvisory(a *server.Account, subj string, v any) {
	if a == nil || !a.HasInterest(subj) {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	a.Publish(subj, "", nil, b)
}

type streamActionAdvisory struct {
	typedEvent
	Stream   string `json:"stream"`
	Action   string `json:"action"`
	Template string `json:"template,omitempty"`
	Domain   string `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryStreamAction(a *server.Account, stream, action string) {
	subj := jsapi.AdvisoryPrefix + "STREAM."
	switch action {
	case "create":
		subj += "CREATED."
	case "delete":
		subj += "DELETED."
	default:
		subj += "UPDATED."
	}
	rt.publishAdvisory(a, subj+stream, streamActionAdvisory{typedEvent: newEvent(streamActionType), Stream: stream, Action: action, Domain: rt.cfg.Domain})
}

type consumerActionAdvisory struct {
	typedEvent
	Stream   string `json:"stream"`
	Consumer string `json:"consumer"`
	Action   string `json:"action"`
	Domain   string `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryConsumerAction(a *server.Account, stream, consumer, action string) {
	subj := jsapi.AdvisoryPrefix + "CONSUMER."
	if action == "create" {
		subj += "CREATED."
	} else {
		subj += "DELETED."
	}
	rt.publishAdvisory(a, subj+stream+"."+consumer, consumerActionAdvisory{typedEvent: newEvent(consumerActionType), Stream: stream, Consumer: consumer, Action: action, Domain: rt.cfg.Domain})
}

type apiAuditAdvisory struct {
	typedEvent
	Server   string            `json:"server"`
	Client   *jsapi.ClientInfo `json:"client"`
	Subject  string            `json:"subject"`
	Request  string            `json:"request,omitempty"`
	Response string            `json:"response"`
	Domain   string            `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryAPIAudit(a *server.Account, req *jsapi.Request, resp []byte) {
	subj := jsapi.AdvisoryPrefix + "API"
	if !a.HasInterest(subj) {
		return
	}
	rt.publishAdvisory(a, subj, apiAuditAdvisory{typedEvent: newEvent(apiAuditType), Server: rt.srv.Name(),
		Client: req.Client, Subject: req.Subject, Request: string(req.Body), Response: string(resp), Domain: rt.cfg.Domain})
}

type apiLimitAdvisory struct {
	typedEvent
	Server  string `json:"server"`
	Domain  string `json:"domain,omitempty"`
	Dropped int64  `json:"dropped"`
}

func (rt *Runtime) advisoryAPILimit(a *server.Account) {
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"API.LIMIT_REACHED", apiLimitAdvisory{typedEvent: newEvent(apiLimitType), Server: rt.srv.Name(), Domain: rt.cfg.Domain, Dropped: 1})
}
