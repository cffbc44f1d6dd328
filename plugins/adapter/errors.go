package adapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/store"
	apiv1 "github.com/hangar-mq/hangar/proto/api/v1"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unavailableError is the type of ErrPluginUnavailable: its own text, and
// store.ErrUnavailable underneath so that the runtime, which knows nothing
// of plugins, still recognises a temporary failure.
type unavailableError struct{}

func (*unavailableError) Error() string { return "plugins: plugin unavailable" }
func (*unavailableError) Unwrap() error { return store.ErrUnavailable }

// ErrPluginUnavailable means a plugin process cannot serve the call now: it
// crashed, is restarting, or did not answer within the call's deadline. It
// wraps store.ErrUnavailable (errors.Is matches both), so the runtime maps
// it to a 503-class JetStream error and keeps the stream; the handle stays
// valid and works again once the plugin is back.
var ErrPluginUnavailable error = &unavailableError{}

// Unavailable wraps cause as ErrPluginUnavailable with detail, e.g. the
// plugin's name.
func Unavailable(detail string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrPluginUnavailable, detail)
	}
	return fmt.Errorf("%w: %s: %w", ErrPluginUnavailable, detail, cause)
}

// ErrToProto encodes err for the wire: its kind (store.KindOf) and full
// text. It returns nil for a nil error.
func ErrToProto(err error) *storev1.Error {
	if err == nil {
		return nil
	}
	return &storev1.Error{Kind: storev1.ErrorKind(store.KindOf(err)), Text: err.Error()}
}

// ProtoToErr rebuilds an error received from the other side: its text is
// the original text and errors.Is matches the original sentinel. An
// unavailable kind comes back as ErrPluginUnavailable (a plugin that is a
// client of another store passes the condition on). It returns nil for nil.
func ProtoToErr(e *storev1.Error) error {
	if e == nil {
		return nil
	}
	k := store.ErrorKind(e.GetKind())
	if k == store.KindUnavailable {
		return &remoteUnavailable{text: e.GetText()}
	}
	if k.Sentinel() == nil && k != store.KindUnknown {
		// A kind newer than this side knows: keep the text, lose the class.
		k = store.KindUnknown
	}
	return store.ErrorFromKind(k, e.GetText())
}

type remoteUnavailable struct{ text string }

func (e *remoteUnavailable) Error() string { return e.text }
func (e *remoteUnavailable) Unwrap() error { return ErrPluginUnavailable }

// APIErrToProto encodes a family handler's error: a *jserr.APIError keeps
// its codes, anything else becomes the generic 500 reply jserr.From gives.
func APIErrToProto(err error) *apiv1.Error {
	if err == nil {
		return nil
	}
	e := jserr.From(err)
	return &apiv1.Error{Code: int32(e.Code), ErrCode: uint32(e.ErrCode), Description: e.Description}
}

// ProtoToAPIErr rebuilds a *jserr.APIError; errors.Is matches the template
// of the same err_code. It returns nil for nil.
func ProtoToAPIErr(e *apiv1.Error) error {
	if e == nil {
		return nil
	}
	return &jserr.APIError{Code: int(e.GetCode()), ErrCode: jserr.ErrCode(e.GetErrCode()), Description: e.GetDescription()}
}

// transportErr classifies a gRPC failure (never a store error: those travel
// in the response). The caller's own cancellation or deadline stays what it
// is; a missing method is ErrUnsupported; a message the transport refused
// is ErrInvalid; anything else means the plugin cannot be reached.
func transportErr(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(context.Cause(ctx), errDefaultDeadline) {
			return Unavailable(what+": no answer within the call timeout", err)
		}
		return fmt.Errorf("%s: %w", what, cerr)
	}
	switch status.Code(err) {
	case codes.Unimplemented:
		return fmt.Errorf("%w: %s: %w", store.ErrUnsupported, what, err)
	case codes.ResourceExhausted, codes.InvalidArgument:
		return fmt.Errorf("%w: %s: %w", store.ErrInvalid, what, err)
	}
	return Unavailable(what, err)
}

// errDefaultDeadline is the cause of a context that hit the adapter's own
// call timeout rather than the caller's.
var errDefaultDeadline = errors.New("plugins: call timeout")
