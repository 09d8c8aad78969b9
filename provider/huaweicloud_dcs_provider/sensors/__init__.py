"""sensors of the Huawei Cloud DCS provider."""
