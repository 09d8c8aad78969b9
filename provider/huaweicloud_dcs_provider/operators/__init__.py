"""operators of the Huawei Cloud DCS provider."""
