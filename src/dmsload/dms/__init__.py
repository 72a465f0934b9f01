"""Everything dmsload knows about the Ed-Fi DMS: settings, auth, data, workloads, setup."""
