package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
)

// Binary bodies. The API speaks JSON except for image data, which is too big
// to hold in memory:
//
//   - an input field of type io.Reader tagged body:"binary" receives the
//     request body unread — no 1 MiB JSON limit, no buffering — and the
//     handler streams it to where it goes;
//   - a handler whose output type is a blob writes its own answer (bytes,
//     ranges, validators) instead of JSON.
//
// The OpenAPI document describes both as application/octet-stream.

const octetStream = "application/octet-stream"

var (
	readerType = reflect.TypeFor[io.Reader]()
	blobType   = reflect.TypeFor[blob]()
)

// blob is an answer that is not JSON: it writes itself.
type blob interface {
	// serveBlob writes the answer; fail renders an error in the API's
	// shape (for what is found wrong only while serving, such as a range
	// beyond the end).
	serveBlob(w http.ResponseWriter, r *http.Request, fail func(status int, code, msg string))
	// blobHeaders names the headers of the answer and what they mean, for
	// the OpenAPI document. It is called on the zero value.
	blobHeaders() map[string]string
}

// mediaTypeError is a request body of a type the route does not take (415).
type mediaTypeError struct{ got, want string }

func (e *mediaTypeError) Error() string {
	return fmt.Sprintf("send the body as %s, not %s", e.want, e.got)
}

// requireOctetStream accepts a binary upload sent as application/octet-stream
// or without a Content-Type (as curl -T sends it); anything else, such as a
// form or JSON sent by mistake, is refused.
func requireOctetStream(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == octetStream {
		return nil
	}
	return &mediaTypeError{got: ct, want: octetStream}
}

// problemWriter passes an answer through, except that an error status
// written by code that answers in text (http.ServeContent's 416 and 412) is
// rendered in the API's error shape instead.
type problemWriter struct {
	http.ResponseWriter
	fail   func(status int, code, msg string)
	failed bool
}

func (w *problemWriter) WriteHeader(status int) {
	if status < 400 {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.failed = true
	code, msg := "invalid", http.StatusText(status)
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		code, msg = "range_not_satisfiable", "the range is beyond the end of the data"
	case http.StatusPreconditionFailed:
		code, msg = "precondition_failed", "the data does not match the If-Match or If-Unmodified-Since condition"
	}
	w.fail(status, code, msg)
}

func (w *problemWriter) Write(b []byte) (int, error) {
	if w.failed {
		return len(b), nil // the text of the error, replaced
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for the bytes.
func (w *problemWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok && !w.failed {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w}, r)
}
