"""AWS: `aws` credentials, the STS sessions handed out instead of their long-lived keys."""
