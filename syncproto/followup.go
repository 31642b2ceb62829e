package syncproto

// A result's follow-up state, as its readers and the enterprise's record
// show it: FollowUpNone (no task), FollowUpOpen (a task not yet closed) or
// FollowUpClosed (every task closed).
const (
	FollowUpOpen   = "open"
	FollowUpClosed = "closed"
)
