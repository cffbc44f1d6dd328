// Package account is the account API family: $JS.API.INFO and the
// system-account operations (ACCOUNT.PURGE, and the cluster-only meta and
// server requests answered as a single server does).
package account

import (
	"context"

	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

func init() {
	jetstream.RegisterFamily(jetstream.FamilyInfo{ID: "api.account", New: func(rt *jetstream.Runtime) (jsapi.Family, error) {
		return &family{rt: rt}, nil
	}})
}

type family struct{ rt *jetstream.Runtime }

func (f *family) ID() string { return "api.account" }

func (f *family) Endpoints() []jsapi.Endpoint {
	return []jsapi.Endpoint{
		{Pattern: "INFO", Type: jsapi.AccountInfoResponseType, Handle: f.info},
		{Pattern: "ACCOUNT.PURGE.*", Type: jsapi.AccountPurgeResponseType, System: true, Handle: f.purge},
		{Pattern: "META.LEADER.STEPDOWN", Type: jsapi.MetaStepDownType, System: true, Handle: clusterOnly},
		{Pattern: "SERVER.REMOVE", Type: jsapi.ServerRemoveType, System: true, Handle: clusterOnly},
	}
}

func (f *family) info(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	st := f.rt.AccountInfo(r.Account)
	if st == nil {
		return nil, jserr.NewNotEnabledForAccountError()
	}
	return &jsapi.AccountInfoResponse{AccountStats: st}, nil
}

func (f *family) purge(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if len(r.Body) > 0 {
		return nil, jserr.NewNotEmptyRequestError()
	}
	target := r.Tokens[2]
	streams, err := f.rt.Streams(target, "")
	if err != nil {
		return nil, err
	}
	for _, s := range streams {
		if err := f.rt.DeleteStream(ctx, target, s.Name()); err != nil {
			return nil, err
		}
	}
	return &jsapi.AccountPurgeResponse{Initiated: true}, nil
}

func clusterOnly(context.Context, *jsapi.Request) (jsapi.Response, error) {
	return nil, jserr.NewClusterRequiredError()
}
