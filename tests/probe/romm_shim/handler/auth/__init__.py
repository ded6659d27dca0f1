"""romm-oidc's test stand-in for RomM's handler.auth package (not RomM's code). RomM's
server imports it before decorators.auth; the stand-in decorators.auth insists on it."""
