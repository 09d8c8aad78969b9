"""triggers of the Huawei Cloud DCS provider."""
