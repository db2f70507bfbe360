"""The retrain loop: one `retrain_loop` job whose stages are child jobs, run one after the other.

    stages.py  the stages in order: what each runs and what it hands on to the next
    params.py  a loop's settings (the policy holds the same ones), checked: `loop_params_validate`
    run.py     how a loop runs: advance stage by stage, wake, run in the foreground, retry
    policy.py  the admins' policy, its beat schedule, and the triggers that start loops

The dependency arrows point one way: tasks and views → loop → services (jobs, registry).
"""
