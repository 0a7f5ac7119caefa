from puhui.data.adapters.tables import metadata
from puhui.kit.migrations import run_env

run_env(metadata)
