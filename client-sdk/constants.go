package sdk

import "github.com/spotcheck/spotcheck/syncproto"

// The protocol's values an app passes to and reads from the SDK, so that an
// app needs this package only.

// Answer results (AnswerInput.Result).
const (
	ResultCompliant     = syncproto.ResultCompliant
	ResultNonCompliant  = syncproto.ResultNonCompliant
	ResultNotApplicable = syncproto.ResultNotApplicable
	ResultNotChecked    = syncproto.ResultNotChecked // any item; the note says why
)

// How an item is answered (PacketItem.AnswerType).
const (
	AnswerCompliance = syncproto.AnswerCompliance // Result
	AnswerText       = syncproto.AnswerText       // Value: free text
	AnswerNumber     = syncproto.AnswerNumber     // Value: a decimal number
)

// Visit outcomes (CloseInput.Outcome).
const (
	OutcomeSigned       = syncproto.OutcomeSigned
	OutcomeRefused      = syncproto.OutcomeRefused
	OutcomeAbsent       = syncproto.OutcomeAbsent
	OutcomeNotLocatable = syncproto.OutcomeNotLocatable
)

// Signer roles (SignatureInput.Role).
const (
	SignerRepresentative = syncproto.SignerRepresentative
	SignerInspector      = syncproto.SignerInspector
	SignerWitness        = syncproto.SignerWitness
)

// Record flags: what the joint record says the reviewer must see.
const (
	FlagDeviceTimeOutsideWindow = syncproto.FlagDeviceTimeOutsideWindow
	FlagReceivedOutsideWindow   = syncproto.FlagReceivedOutsideWindow
	FlagSectionNotSealed        = syncproto.FlagSectionNotSealed
	FlagSectionNotCovered       = syncproto.FlagSectionNotCovered
	FlagNoClose                 = syncproto.FlagNoClose
	FlagSeveralCloses           = syncproto.FlagSeveralCloses
	FlagCloseCoversUnknown      = syncproto.FlagCloseCoversUnknown
)

// The protocol's types an app meets, named here so it needs this package only.
type (
	AnswerMutation  = syncproto.AnswerMutation
	AnswerVersion   = syncproto.AnswerVersion
	AnswerState     = syncproto.AnswerState
	AttachmentRef   = syncproto.AttachmentRef
	Location        = syncproto.Location
	Certificate     = syncproto.CertificateShown
	Me              = syncproto.Me
	JointRecord     = syncproto.JointRecord
	JointSection    = syncproto.JointSection
	SealedSection   = syncproto.SealedSection
	SealedClose     = syncproto.SealedClose
	SectionSeal     = syncproto.SealMutation
	CloseSeal       = syncproto.SealCloseMutation
	SectionRef      = syncproto.SectionRef
	RecordFlag      = syncproto.RecordFlag
	Mutation        = syncproto.Mutation
	CertificatesSet = syncproto.CertificatesMutation
)
