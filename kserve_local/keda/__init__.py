"""A stand-in for KEDA: reads the ScaledObjects KServe writes, queries their triggers, scales the predictor."""

from pathlib import Path

CRD = Path(__file__).parent / "data" / "scaledobjects-crd.yaml"  # seeded by the target: KEDA is installed
