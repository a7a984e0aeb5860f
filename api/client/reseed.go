package client

import (
	"context"
	"net/http"

	"github.com/dittodb/ditto"
)

func (c *Client) Reseed(ctx context.Context) (s ditto.ReseedStatus, err error) {
	return s, c.call(ctx, "POST", "/v1/reseed", nil, &s, http.StatusAccepted)
}

func (c *Client) ReseedStatus(ctx context.Context) (s ditto.ReseedStatus, err error) {
	return s, c.call(ctx, "GET", "/v1/reseed", nil, &s, http.StatusOK)
}
