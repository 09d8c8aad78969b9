"""hooks of the Huawei Cloud DCS provider."""
