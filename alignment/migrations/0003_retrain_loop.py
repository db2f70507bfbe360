# Retrain policy, trigger log, and the one-loop-at-a-time guard.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0002_video_scores_job_artifacts'),
        ('annotation', '0004_campaign_task_order'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RetrainPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('enabled', models.BooleanField(default=False)),
                ('min_new_annotations', models.PositiveIntegerField(default=300)),
                ('check_every_minutes', models.PositiveIntegerField(default=15)),
                ('source_campaign_ids', models.JSONField(blank=True, default=list)),
                ('review_states', models.JSONField(blank=True, default=list)),
                ('candidates', models.JSONField(blank=True, default=dict)),
                ('next_round', models.JSONField(blank=True, default=dict)),
                ('stages', models.JSONField(blank=True, default=list)),
                ('critic', models.JSONField(blank=True, default=dict)),
                ('align', models.JSONField(blank=True, default=dict)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name='RetrainTrigger',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(choices=[('schedule', 'Schedule'), ('manual', 'Manual')], max_length=16)),
                ('outcome', models.CharField(choices=[('started', 'Started'), ('skipped', 'Skipped')], max_length=16)),
                ('new_annotations', models.PositiveIntegerField(blank=True, null=True)),
                ('reason', models.TextField(blank=True, default='')),
                ('at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddConstraint(
            model_name='job',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'retrain_loop'), ('status__in', ['queued', 'running'])), fields=('kind',), name='one_unfinished_retrain_loop'),
        ),
        migrations.AddField(
            model_name='retrainpolicy',
            name='next_round_campaign',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='annotation.campaign'),
        ),
        migrations.AddField(
            model_name='retrainpolicy',
            name='updated_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='retraintrigger',
            name='by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='retraintrigger',
            name='loop',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='triggers', to='alignment.job'),
        ),
    ]
