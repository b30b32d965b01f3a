package download

import (
	"context"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// maxDoc bounds a registry document (an npm packument of a package with
// thousands of versions can be tens of MiB).
const maxDoc = 256 << 20

// get issues a GET and returns the response when it is 200; 404 and 410
// wrap archive.ErrNotFound.
func get(ctx context.Context, c *http.Client, rawURL, accept string) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("url %q: not http(s): %w", rawURL, archive.ErrBadArtifact)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rawURL, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp, nil
	case http.StatusNotFound, http.StatusGone:
		resp.Body.Close()
		return nil, fmt.Errorf("get %s: %s: %w", rawURL, resp.Status, archive.ErrNotFound)
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("get %s: %s", rawURL, resp.Status)
	}
}

// Document returns the body of rawURL (at most 256 MiB) and its
// Content-Type.
func Document(ctx context.Context, c *http.Client, rawURL, accept string) ([]byte, string, error) {
	resp, err := get(ctx, c, rawURL, accept)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDoc+1))
	if err != nil {
		return nil, "", fmt.Errorf("get %s: %w", rawURL, err)
	}
	if len(b) > maxDoc {
		return nil, "", fmt.Errorf("get %s: document over %d bytes: %w", rawURL, maxDoc, archive.ErrTooLarge)
	}
	return b, resp.Header.Get("Content-Type"), nil
}

// File downloads rawURL to the new file out, at most max bytes, feeding
// every byte to h. On error out is removed.
func File(ctx context.Context, c *http.Client, rawURL, out string, max int64, h hash.Hash) (retErr error) {
	resp, err := get(ctx, c, rawURL, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.ContentLength > max {
		return fmt.Errorf("get %s: %d bytes, limit %d: %w", rawURL, resp.ContentLength, max, archive.ErrTooLarge)
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err := f.Close(); retErr == nil {
			retErr = err
		}
		if retErr != nil {
			os.Remove(out)
		}
	}()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, max+1))
	if err != nil {
		return fmt.Errorf("get %s: %w", rawURL, err)
	}
	if n > max {
		return fmt.Errorf("get %s: over %d bytes: %w", rawURL, max, archive.ErrTooLarge)
	}
	return nil
}
