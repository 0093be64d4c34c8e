"""courier: the offline operator CLI for the courier-platform Pulumi project."""
