"""Ed-Fi OpenAPI specifications: what resources a target serves, and how they refer."""
