"""The agent example's shared logic, used by its steps (HTTP routes, queue handlers) and by its
plain worker (functions the browser page calls). Everything goes through ``call(function_id,
payload)``, so it runs the same in both."""
