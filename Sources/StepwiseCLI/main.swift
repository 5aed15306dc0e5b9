import Stepwise
print(StepwiseInfo.version)
