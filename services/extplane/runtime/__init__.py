"""The shared runtime every extplane server stands on."""
