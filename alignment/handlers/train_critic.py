from ..jobkinds import GPU, JobKind, register
from ..services.critic_training import train_critic_params_validate, train_critic_run

register(JobKind(
    name="train_critic", queue=GPU, validate=train_critic_params_validate, run=train_critic_run,
    description="Train a critic on a snapshot's splits (LoRA or full), evaluate it on the test split, register it.",
))
