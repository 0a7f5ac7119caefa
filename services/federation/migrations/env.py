from puhui.federation.adapters.db import metadata
from puhui.kit.migrations import run_env

run_env(metadata)
