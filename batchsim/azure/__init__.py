"""Everything that talks to Azure. Azure SDKs are imported lazily, inside functions."""
