package syncproto

// PacketContent is a joint inspection packet (一企一表) as a device receives
// it in a pull change of kind "packet": the enterprise as it was when the
// packet was made, the team, and every participating department's
// checklist.
type PacketContent struct {
	CampaignName string             `json:"campaign_name"`
	WindowStart  string             `json:"window_start"` // YYYY-MM-DD
	WindowEnd    string             `json:"window_end"`
	Enterprise   EnterpriseSnapshot `json:"enterprise"`
	Team         []PacketMember     `json:"team"`
	Sections     []PacketSection    `json:"sections"` // one per department, by code
}

// EnterpriseSnapshot is the inspected enterprise as the packet was made.
type EnterpriseSnapshot struct {
	CreditCode          string   `json:"credit_code"`
	Name                string   `json:"name"`
	Category            string   `json:"category"`
	District            string   `json:"district"`
	Address             string   `json:"address"`
	LegalRepresentative string   `json:"legal_representative"`
	LicenceNumber       string   `json:"licence_number"`
	Latitude            *float64 `json:"latitude,omitempty"`
	Longitude           *float64 `json:"longitude,omitempty"`
}

// PacketMember is one inspector of the team.
type PacketMember struct {
	InspectorID       int64  `json:"inspector_id"`
	Department        string `json:"department"`
	Name              string `json:"name"`
	CertificateNumber string `json:"certificate_number"`
}

// PacketSection is one department's checklist.
type PacketSection struct {
	Department string       `json:"department"`
	Items      []PacketItem `json:"items"`
}

// PacketItem is one check item, at the version the packet was made with.
type PacketItem struct {
	CheckItemID int64  `json:"check_item_id"`
	Code        string `json:"code"`
	Version     int    `json:"version"`
	Title       string `json:"title"`
	LegalBasis  string `json:"legal_basis"`
	AnswerType  string `json:"answer_type"` // AnswerCompliance, AnswerText or AnswerNumber
}

// How a check item is answered.
const (
	AnswerCompliance = "compliance" // Result: compliant, non_compliant or not_applicable
	AnswerText       = "text"       // Value: free text
	AnswerNumber     = "number"     // Value: a decimal number
)
