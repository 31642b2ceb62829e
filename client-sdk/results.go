package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Results returns, from the server, the results of the inspector's
// department on the packets whose team held them: drafts to enter, entered
// ones waiting for review, returned ones with the reviewer's reason
// (ReturnReason), approved ones. It needs the network and the device's
// session.
func (c *Client) Results(ctx context.Context) ([]syncproto.Result, error) {
	resp, err := c.call(ctx, request{method: http.MethodGet, path: syncproto.PathResults, auth: true})
	if err != nil {
		return nil, err
	}
	var out syncproto.ResultList
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return out.Results, nil
}
