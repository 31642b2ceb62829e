package api

// NewRateBody exposes the body-rate reader to the tests in api_test.
var NewRateBody = newRateBody
